import crypto from 'node:crypto';
import path from 'node:path';
import autocannon from 'autocannon';
import { spawnListening } from '../test/support/child-service';
import { startCrashHarness } from '../test/support/crash-harness';
import { tempDir } from '../test/support/service';
import { openLoop } from './open-loop';
import type { BenchOptions, Figure, SectionResult } from './report';

/**
 * Section 1: accept latency of `POST /inkind/issuance` — valid, authenticated, distinct requests — at
 * 1 and 64 concurrent clients for a fixed duration, on SQLite; next to it, in the same run, a bare Koa
 * handler that parses the same body (the floor). Both are separate processes, as production runs the
 * service; autocannon drives them from this one.
 */
interface LoadResult {
  p50: number;
  p99: number;
  requestsPerSec: number;
  accepted: number;
  other: number;
}

async function load(url: string, connections: number, seconds: number, headers: Record<string, string>, body: () => object): Promise<LoadResult> {
  const latencies: number[] = [];
  // Without a callback autocannon returns an instance that is both an event emitter and a promise.
  const instance: any = autocannon({
    url,
    connections,
    duration: seconds,
    requests: [{ method: 'POST', path: '/inkind/issuance', headers: { 'content-type': 'application/json', ...headers }, setupRequest: (req: any) => ({ ...req, body: JSON.stringify(body()) }) }],
  });
  // autocannon's own histogram keeps whole milliseconds; the targets need finer, so keep each response time.
  instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
    if (status >= 200 && status < 300) latencies.push(responseTime);
  });
  const result: autocannon.Result = await instance;
  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const accepted = result['2xx'];
  return { p50: at(0.5), p99: at(0.99), requestsPerSec: accepted / seconds, accepted, other: result.non2xx + result.errors + result.timeouts };
}

async function paced(url: string, ratePerSec: number, seconds: number, headers: Record<string, string>, body: () => object): Promise<LoadResult> {
  const r = await openLoop({ url, path: '/inkind/issuance', ratePerSec, seconds, connections: 64, headers, body });
  const at = (q: number) => r.latencies[Math.min(r.latencies.length - 1, Math.floor(q * r.latencies.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), requestsPerSec: r.accepted / seconds, accepted: r.accepted, other: r.other };
}

export async function run(options: BenchOptions): Promise<SectionResult> {
  const seconds = options.quick ? 1 : 8;
  const h = await startCrashHarness();
  const floor = await spawnListening(path.join(__dirname, 'floor-server.ts'), {});
  // Production settings: info logging, no rate limit in the way of the load.
  const svc = await h.spawn(tempDir('issuance-bench-accept-'), undefined, { LOG_LEVEL: 'info', ALPACA_RATE_LIMIT_PER_MINUTE: '0' });
  try {
    const clientId = await h.seed(svc, 'bench-accept@ap.example');
    const body = () => ({ tokenization_request_id: crypto.randomUUID(), qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: h.chain.apAccount.address, client_external_account_id: clientId });
    const auth = { 'x-api-key': h.alpacaApiKey };
    const levels = [1, 64];
    const service: Record<number, LoadResult> = {};
    const bare: Record<number, LoadResult> = {};
    // Warm both (JIT, SQLite page cache) before measuring.
    await load(svc.url, 8, 1, auth, body);
    await load(floor.url, 8, 1, {}, body);
    for (const c of levels) {
      options.progress(`accept: ${c} client(s), ${seconds} s each, service then floor`);
      service[c] = await load(svc.url, c, seconds, auth, body);
      bare[c] = await load(floor.url, c, seconds, {}, body);
    }
    // Closed loop, 64 clients keep 64 requests outstanding, so latency there is queueing (Little's law:
    // p50 ≈ 64 / throughput). Open loop, requests arrive at a fixed rate, as Alpaca's do: half the
    // service's measured capacity, over the same 64 connections, to both.
    const rate = Math.max(10, Math.floor(service[64]!.requestsPerSec / 2));
    options.progress(`accept: open loop at ${rate} req/s over 64 connections, service then floor`);
    const serviceOpen = await paced(svc.url, rate, seconds, auth, body);
    const floorOpen = await paced(floor.url, rate, seconds, {}, body);
    const refused = Object.values(service).reduce((n, r) => n + r.other, 0) + serviceOpen.other;
    if (refused > 0) throw new Error(`accept bench: ${refused} requests were not accepted (non-2xx, errors or timeouts)`);
    const figures: Figure[] = [];
    for (const c of levels) {
      const s = service[c]!;
      const f = bare[c]!;
      figures.push(
        { name: `p50 at ${c} client${c > 1 ? 's' : ''}`, value: s.p50, unit: 'ms', target: c === 64 ? { op: '<=', value: 3 } : undefined, baseline: { name: 'bare Koa', value: f.p50 } },
        { name: `p99 at ${c} client${c > 1 ? 's' : ''}`, value: s.p99, unit: 'ms', target: c === 64 ? { op: '<=', value: 15 } : undefined, baseline: { name: 'bare Koa', value: f.p99 } },
        { name: `accepted requests/s at ${c} client${c > 1 ? 's' : ''}`, value: s.requestsPerSec, unit: 'req/s', target: c === 64 ? { op: '>=', value: 2000 } : undefined, baseline: { name: 'bare Koa', value: f.requestsPerSec } },
      );
    }
    figures.push(
      { name: `p50 at a fixed ${rate} req/s (half capacity, paced arrivals)`, value: serviceOpen.p50, unit: 'ms', target: { op: '<=', value: 3 }, baseline: { name: 'bare Koa', value: floorOpen.p50 } },
      { name: `p99 at a fixed ${rate} req/s (half capacity, paced arrivals)`, value: serviceOpen.p99, unit: 'ms', target: { op: '<=', value: 15 }, baseline: { name: 'bare Koa', value: floorOpen.p99 } },
    );
    return {
      id: 'accept',
      title: '1. accept POST /inkind/issuance (SQLite)',
      figures,
      details: { secondsPerLevel: seconds, levels, service, floor: bare, openLoop: { rate, connections: 64, service: serviceOpen, floor: floorOpen }, logLevel: 'info', database: 'SQLite file, WAL, synchronous=FULL' },
    };
  } finally {
    await floor.kill();
    await svc.kill('SIGTERM');
    await h.close();
  }
}
