import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import knex from 'knex';
import { toBeHex } from 'ethers';
import { type CrashHarness, startCrashHarness } from '../test/support/crash-harness';
import type { ChildService } from '../test/support/child-service';
import { tempDir } from '../test/support/service';
import type { Section, SectionResult } from './report';
import { summarize } from './stats';

/**
 * Section 3: end-to-end mints, pipelined. The service runs as its own process (`server/main.ts`, as
 * production runs it, production mode and defaults) on SQLite, against a local anvil devnet that mines
 * a block every `BLOCK_TIME_S` seconds, and the fake Alpaca over HTTP. `W` clients play Alpaca: each
 * sends a mint request, then its confirm, then takes the next one, without waiting for the mint to
 * finish (Alpaca does not wait either). A mint is done when its flow commits `completed` (after the
 * callback reached the fake Alpaca); its time is read from the journal afterwards.
 */
export interface MintBenchSettings {
  mints: number;
  clients: number;
  /** Seconds per block; 0 = automine (one block per transaction, mined when it arrives). */
  blockTimeS: number;
  /** Block gas limit the devnet is given. */
  blockGasLimit: bigint;
  /** Counts the JSON-RPC calls the service makes (through a counting proxy; off for the timed runs). */
  countRpc?: boolean;
  /** Extra environment for the service (e.g. NODE_OPTIONS=--cpu-prof for a profile). */
  serviceEnv?: Record<string, string>;
  progress?: (line: string) => void;
}

export interface MintBenchResult {
  mintsPerSecond: number;
  endToEndMs: ReturnType<typeof summarize>;
  acceptMs: ReturnType<typeof summarize>;
  intakePerSecond: number;
  rpcCalls?: Record<string, number>;
  blocks: number;
  maxTransactionsPerBlock: number;
  gasPerMint: number;
  /** Median ms from one journal event of a mint to the next (confirm → signed and sent → confirmed → callback taken). */
  medianMsBetweenEvents: Record<string, number>;
}

// Base, the network the service is configured for, makes a block every 2 s.
const BLOCK_TIME_S = 2;
// Enough room that the block gas limit is not what a run measures (details.gasPerMint says what one
// deposit+transfer multicall uses, about 0.1 Mgas; anvil's default 30 Mgas would cap a 2 s block
// near 140 mints/s).
const BLOCK_GAS_LIMIT = 300_000_000n;
const CONFIRMATIONS = 1;

export const run: Section = async ({ quick, progress }) => {
  const settings: MintBenchSettings = { mints: quick ? 10 : 600, clients: quick ? 4 : 64, blockTimeS: BLOCK_TIME_S, blockGasLimit: BLOCK_GAS_LIMIT, progress };
  const result = await measureMints(settings);
  const section: SectionResult = {
    id: 'mints',
    title: '3. end-to-end mints, pipelined (SQLite, devnet)',
    figures: [
      { name: `completed mints/s (${settings.mints} mints, ${settings.clients} clients)`, value: result.mintsPerSecond, unit: 'mints/s', target: { op: '>=', value: 100 } },
      { name: 'end-to-end ms per mint, p50 (request → completed)', value: result.endToEndMs.median, unit: 'ms' },
    ],
    details: {
      mints: settings.mints,
      clients: settings.clients,
      database: 'SQLite (WAL), the embedded default',
      service:
        'its own process (server/main.ts through test/support/crash-harness): production mode and defaults except CONFIRMATIONS, the Alpaca rate limit (off) and LOG_LEVEL=warn. Fairer than the in-process mint env: the service does not share its event loop with the load generator and the fake Alpaca, and runs without the in-process env’s test timings (20 ms outbox poll, RPC proxy)',
      anvilMining: settings.blockTimeS > 0 ? `interval mining, one block every ${settings.blockTimeS} s (Base's block time); block gas limit ${settings.blockGasLimit}` : 'automine',
      confirmations: CONFIRMATIONS,
      clientsDo: 'Alpaca’s mint request then its confirm, then the next mint; they do not wait for completions (Alpaca does not either), so the rate is what the whole pipeline sustains',
      rate: 'mints / (last flow completed − first request sent); completion times from the journal (CALLBACK_ACKNOWLEDGED), every flow checked completed',
      endToEndMs: result.endToEndMs,
      acceptMs: result.acceptMs,
      intakePerSecond: round(result.intakePerSecond),
      blocks: result.blocks,
      maxTransactionsPerBlock: result.maxTransactionsPerBlock,
      gasPerMint: result.gasPerMint,
      medianMsBetweenEvents: result.medianMsBetweenEvents,
    },
  };
  return section;
};

const round = (x: number) => Math.round(x * 100) / 100;

export async function measureMints(settings: MintBenchSettings): Promise<MintBenchResult> {
  const progress = settings.progress ?? (() => undefined);
  const h = await startCrashHarness();
  let proxy: CountingProxy | undefined;
  let svc: ChildService | undefined;
  try {
    await h.provider.send('evm_setBlockGasLimit', [toBeHex(settings.blockGasLimit)]);
    if (settings.blockTimeS > 0) await h.provider.send('evm_setIntervalMining', [settings.blockTimeS]);
    const startBlock = await h.provider.getBlockNumber();
    if (settings.countRpc) proxy = await startCountingProxy(h.chain.devnet.rpcUrl);
    const dataDir = tempDir('issuance-bench-mints-');
    svc = await h.spawn(dataDir, undefined, {
      // SQLite in the data directory, whatever the caller's environment says.
      DATABASE_URL: '',
      CONFIRMATIONS: String(CONFIRMATIONS),
      // The production lease (the harness shortens it for PostgreSQL take-over tests).
      OUTBOX_LEASE_MS: '60000',
      ...(proxy ? { RPC_URL: proxy.url } : {}),
      ...settings.serviceEnv,
    });
    const clientId = await h.seed(svc, `bench-mints-${crypto.randomUUID().slice(0, 8)}@ap.example`);
    progress(`mints: ${settings.mints} mints, ${settings.clients} clients, ${settings.blockTimeS ? `${settings.blockTimeS} s blocks` : 'automine'}`);

    const ids = Array.from({ length: settings.mints }, () => crypto.randomUUID());
    const requestedAt = new Map<string, number>();
    const acceptMs: number[] = [];
    const completions = watchCallbacks(h, new Set(ids));
    if (proxy) proxy.counts.clear();
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: settings.clients }, async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          const t = Date.now();
          requestedAt.set(id, t);
          const created = await h.alpaca.requestMint({ tokenization_request_id: id, qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: h.chain.apAccount.address, client_external_account_id: clientId });
          if (created.status !== 200) throw new Error(`mint request refused: ${created.status} ${JSON.stringify(created.body)}`);
          const confirmed = await h.alpaca.confirmMint(id, created.body.issuer_request_id, 'completed');
          if (confirmed.status !== 200) throw new Error(`confirm refused: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);
          acceptMs.push(Date.now() - t);
        }
      }),
    );
    const intakeDone = Date.now();
    progress(`mints: all ${ids.length} requested and confirmed in ${intakeDone - started} ms; waiting for completions`);
    await completions.all(Math.max(120_000, settings.mints * 200));
    const rpcCalls = proxy ? Object.fromEntries([...proxy.counts].sort((a, b) => b[1] - a[1])) : undefined;

    // The callback reached Alpaca; the flow commits `completed` right after. Read when from the journal.
    const db = knex({ client: 'sqlite3', connection: { filename: path.join(dataDir, 'issuance-bot.sqlite') }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
    let doneAt: Map<string, number>;
    const legs: Record<string, number> = {};
    try {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const rows = await db('journal').where({ flow_type: 'mint', type: 'CALLBACK_ACKNOWLEDGED' }).select('flow_id', 'recorded_at');
        doneAt = new Map(rows.map((r: any) => [String(r.flow_id).replace(/^mint:/, ''), Date.parse(r.recorded_at)]));
        const completed = Number((await db('flows').where({ flow_type: 'mint', state: 'completed' }).count({ n: '*' }))[0]!.n);
        if (completed === ids.length && ids.every((id) => doneAt.has(id))) break;
        if (Date.now() > deadline) throw new Error(`only ${completed} of ${ids.length} mints completed`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Where a mint's time goes: from each journal event to the next one of the same flow.
      const steps = ['JOURNAL_CONFIRMED', 'MINT_TX_SENT', 'MINT_CONFIRMED', 'CALLBACK_ACKNOWLEDGED'];
      const events = await db('journal').where({ flow_type: 'mint' }).whereIn('type', steps).select('flow_id', 'type', 'recorded_at');
      const at = new Map<string, Map<string, number>>();
      for (const e of events as any[]) {
        if (!at.has(e.flow_id)) at.set(e.flow_id, new Map());
        at.get(e.flow_id)!.set(e.type, Date.parse(e.recorded_at));
      }
      for (let i = 1; i < steps.length; i++) {
        const gaps = [...at.values()].filter((m) => m.has(steps[i - 1]!) && m.has(steps[i]!)).map((m) => m.get(steps[i]!)! - m.get(steps[i - 1]!)!);
        legs[`${steps[i - 1]} → ${steps[i]}`] = summarize(gaps).median;
      }
    } finally {
      await db.destroy();
    }
    const endToEnd = ids.map((id) => doneAt.get(id)! - requestedAt.get(id)!);
    const last = Math.max(...doneAt.values());

    // Every mint is one transaction of its own, in some block: count blocks and the fullest one.
    const head = await h.provider.getBlockNumber();
    let blocks = 0;
    let maxTransactionsPerBlock = 0;
    let gasUsed = 0n;
    let transactions = 0;
    for (let b = startBlock + 1; b <= head; b++) {
      const block = (await h.provider.send('eth_getBlockByNumber', [toBeHex(b), false])) as { transactions: string[]; gasUsed: string };
      const count = block.transactions.length;
      if (count > 0) blocks++;
      maxTransactionsPerBlock = Math.max(maxTransactionsPerBlock, count);
      gasUsed += BigInt(block.gasUsed);
      transactions += count;
    }
    return {
      mintsPerSecond: ids.length / ((last - started) / 1000),
      endToEndMs: summarize(endToEnd),
      acceptMs: summarize(acceptMs),
      intakePerSecond: ids.length / ((intakeDone - started) / 1000),
      ...(rpcCalls ? { rpcCalls } : {}),
      blocks,
      maxTransactionsPerBlock,
      gasPerMint: transactions ? Number(gasUsed / BigInt(transactions)) : 0,
      medianMsBetweenEvents: legs,
    };
  } finally {
    // SIGTERM: a graceful stop, so a --cpu-prof in serviceEnv gets written.
    await svc?.kill('SIGTERM');
    await proxy?.close();
    await h.close();
  }
}

/** Resolves when every id has had a callback answered 200 by the fake Alpaca. */
function watchCallbacks(h: CrashHarness, ids: Set<string>) {
  const waiting = new Set(ids);
  let seen = 0;
  return {
    async all(timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while (waiting.size > 0) {
        for (; seen < h.alpaca.callbacks.length; seen++) {
          const c = h.alpaca.callbacks[seen]!;
          if (c.status === 200) waiting.delete(c.body?.tokenization_request_id);
        }
        if (Date.now() > deadline) throw new Error(`${waiting.size} of ${ids.size} mints had no callback within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

interface CountingProxy {
  url: string;
  counts: Map<string, number>;
  close(): Promise<void>;
}

/** A JSON-RPC proxy that counts calls by method (batches counted per call inside). */
async function startCountingProxy(target: string): Promise<CountingProxy> {
  const counts = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    try {
      const parsed = JSON.parse(body.toString('utf8'));
      for (const call of Array.isArray(parsed) ? parsed : [parsed]) counts.set(call.method, (counts.get(call.method) ?? 0) + 1);
    } catch {
      // not JSON: forwarded as is
    }
    const upstream = http.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (up) => {
      res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/json' });
      up.pipe(res);
    });
    upstream.on('error', () => req.socket.destroy());
    upstream.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      agent.destroy();
    },
  };
}
