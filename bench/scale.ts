import crypto from 'node:crypto';
import os from 'node:os';
import { type Cluster, countFlows, inParallel, startCluster } from '../test/support/cluster';
import { waitFor } from '../test/support/wait-for';
import { type CrashHarness, startCrashHarness } from '../test/support/crash-harness';
import { tempDir } from '../test/support/service';
import { TEST_DATABASE_URL } from '../test/support/test-database';
import { summarize } from './stats';

/**
 * `npm run bench:scale`: 1 instance against 3 instances on one PostgreSQL database, in the same run,
 * alternating, on the same devnet and fake Alpaca. For each deployment: accepted mint requests per
 * second (Alpaca's request + confirm, `WIDTH` at a time, through the balancer) and completed mints per
 * second (first request to last flow completed). Medians over `ROUNDS`.
 */
const MINTS = Number(process.env.SCALE_BENCH_MINTS ?? 150);
const ROUNDS = Number(process.env.SCALE_BENCH_ROUNDS ?? 3);
const WIDTH = Number(process.env.SCALE_BENCH_WIDTH ?? 32);

async function run(h: CrashHarness, instances: number, round: number): Promise<{ acceptedPerSec: number; completedPerSec: number; acceptMsMedian: number }> {
  const ids = Array.from({ length: instances }, (_, i) => `bench-${instances}x-${round}-${i}`);
  const cluster: Cluster = await startCluster(h, tempDir('issuance-scale-bench-'), ids);
  try {
    const clientId = await h.seed([...cluster.instances.values()][0]!, `bench-${instances}-${round}@ap.example`);
    const trids = Array.from({ length: MINTS }, () => crypto.randomUUID());
    const acceptMs: number[] = [];
    const started = performance.now();
    await inParallel(trids, WIDTH, async (trid) => {
      const t = performance.now();
      const created = await h.alpaca.requestMint({ tokenization_request_id: trid, qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: h.chain.apAccount.address, client_external_account_id: clientId });
      acceptMs.push(performance.now() - t);
      if (created.status !== 200) throw new Error(`mint request refused: ${JSON.stringify(created.body)}`);
      const confirmed = await h.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
      if (confirmed.status !== 200) throw new Error(`confirm refused: ${JSON.stringify(confirmed.body)}`);
    });
    const acceptedAt = performance.now();
    await waitFor('every mint completed', async () => (await countFlows(cluster.db, 'mint', 'completed')) === MINTS, 300_000, 50);
    const completedAt = performance.now();
    return {
      acceptedPerSec: MINTS / ((acceptedAt - started) / 1000),
      completedPerSec: MINTS / ((completedAt - started) / 1000),
      acceptMsMedian: summarize(acceptMs).median,
    };
  } finally {
    await cluster.close();
  }
}

async function main(): Promise<void> {
  if (!TEST_DATABASE_URL) throw new Error('set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)');
  const h = await startCrashHarness();
  const results: Record<number, Array<Awaited<ReturnType<typeof run>>>> = { 1: [], 3: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of round % 2 === 0 ? [1, 3] : [3, 1]) {
        const r = await run(h, n, round);
        results[n]!.push(r);
        process.stdout.write(`round ${round + 1}, ${n} instance(s): ${r.acceptedPerSec.toFixed(1)} accepted/s, ${r.completedPerSec.toFixed(1)} completed/s, accept p50 ${r.acceptMsMedian.toFixed(1)} ms\n`);
      }
    }
  } finally {
    await h.close();
  }
  const median = (xs: number[]) => summarize(xs).median;
  const row = (n: number) => ({
    accepted: median(results[n]!.map((r) => r.acceptedPerSec)),
    completed: median(results[n]!.map((r) => r.completedPerSec)),
    acceptMs: median(results[n]!.map((r) => r.acceptMsMedian)),
  });
  const one = row(1);
  const three = row(3);
  process.stdout.write(
    [
      '',
      `PostgreSQL, ${MINTS} mints per run, ${WIDTH} concurrent clients, ${ROUNDS} rounds; ${os.cpus().length} cores, Node ${process.version}`,
      '| instances | accepted mint requests/s (median) | completed mints/s (median) | accept latency p50 (median) |',
      '|---|---|---|---|',
      `| 1 | ${one.accepted.toFixed(1)} | ${one.completed.toFixed(1)} | ${one.acceptMs.toFixed(1)} ms |`,
      `| 3 | ${three.accepted.toFixed(1)} | ${three.completed.toFixed(1)} | ${three.acceptMs.toFixed(1)} ms |`,
      `| 3 / 1 | ${(three.accepted / one.accepted).toFixed(2)}× | ${(three.completed / one.completed).toFixed(2)}× | |`,
      '',
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
