import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Round-robin HTTP balancer in front of several service instances, as a deployment would have. A
 * backend that refuses the connection is skipped (the request goes to the next one), so killing an
 * instance looks to the caller like a load balancer taking it out of rotation.
 */
export interface LoadBalancer {
  url: string;
  backends: string[];
  /** Requests answered, per backend. */
  served: Map<string, number>;
  close(): Promise<void>;
}

export async function startLoadBalancer(backends: string[]): Promise<LoadBalancer> {
  let next = 0;
  const lb: LoadBalancer = { url: '', backends, served: new Map(), close: async () => undefined };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length') headers[k] = v;
    for (let tried = 0; tried < lb.backends.length; tried++) {
      const backend = lb.backends[next++ % lb.backends.length]!;
      try {
        const upstream = await fetch(`${backend}${req.url}`, { method: req.method, headers, body });
        const payload = Buffer.from(await upstream.arrayBuffer());
        lb.served.set(backend, (lb.served.get(backend) ?? 0) + 1);
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
        res.end(payload);
        return;
      } catch {
        // connection refused or reset: that instance is down, try the next
      }
    }
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'no_backend', message: 'no instance answered' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  lb.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  lb.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return lb;
}
