import http from 'node:http';

/**
 * Requests at a fixed arrival rate, whatever the server's answers do (open loop), over at most
 * `connections` keep-alive sockets. autocannon's rate option sends each connection's quota in a burst
 * at the start of every second, which measures the burst's queue rather than a steady arrival rate.
 */
export async function openLoop(options: {
  url: string;
  path: string;
  ratePerSec: number;
  seconds: number;
  connections: number;
  headers: Record<string, string>;
  body: () => object;
}): Promise<{ latencies: number[]; accepted: number; other: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.path, options.url);
  const latencies: number[] = [];
  let accepted = 0;
  let other = 0;
  const inFlight: Array<Promise<void>> = [];
  const send = () =>
    new Promise<void>((resolve) => {
      const payload = JSON.stringify(options.body());
      const started = performance.now();
      const req = http.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...options.headers } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) {
            accepted++;
            latencies.push(performance.now() - started);
          } else other++;
          resolve();
        });
      });
      req.on('error', () => {
        other++;
        resolve();
      });
      req.end(payload);
    });
  const interval = 1000 / options.ratePerSec;
  const start = performance.now();
  const total = Math.floor(options.ratePerSec * options.seconds);
  for (let i = 0; i < total; i++) {
    // Each request leaves at its own scheduled instant (start + i·interval), late ones at once.
    const wait = start + i * interval - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(send());
  }
  await Promise.all(inFlight);
  agent.destroy();
  return { latencies: latencies.sort((a, b) => a - b), accepted, other };
}
