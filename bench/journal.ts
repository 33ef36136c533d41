import crypto from 'node:crypto';
import path from 'node:path';
import type { Knex } from 'knex';
import { FlowHost } from '../runtime/flow-host';
import type { MintInput } from '../machines/mint';
import { openDatabase } from '../persistence/database';
import { GENESIS_HASH } from '../persistence/journal-hash';
import { newId } from '../core/ids';
import { mintDefinition } from '../server/flows/mint';
import { tempDir } from '../test/support/service';
import type { BenchOptions, SectionResult } from './report';

/**
 * Section 2: journal throughput. Events appended per second through the flow host with 64 concurrent
 * callers — real mint flows: the start (journal row, snapshot, timer row, view row) and the journal
 * confirmation (transition, journal row, snapshot seq check, outbox row, view row) — next to raw
 * single-row Knex inserts of journal rows, 64 concurrent, into the same kind of database file with the
 * same settings (WAL, synchronous=FULL). Rounds alternate; medians are reported.
 */
const CONCURRENCY = 64;

/** A valid mint input for flows driven straight through the host (no registry behind it). */
export function mintInput(trid: string): MintInput {
  return {
    tokenizationRequestId: trid,
    issuerRequestId: crypto.randomUUID(),
    requestHash: 'bench',
    apId: 'AP',
    clientRef: { client_external_account_id: 'AP' },
    assetId: 'A',
    underlyingSymbol: 'AAPL',
    tokenSymbol: 'tAAPL',
    network: 'base',
    vaultAddress: '0x' + '11'.repeat(20),
    decimals: 18,
    walletAddress: '0x' + '22'.repeat(20),
    qty: '1',
    amountUnits: (10n ** 18n).toString(),
    journalTimeoutMs: 3_600_000,
  };
}

/** Runs `CONCURRENCY` loops of `step` for `ms`; returns how many units they completed. */
async function saturate(ms: number, step: () => Promise<number>): Promise<number> {
  const until = performance.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const n = await step();
        done += n;
      }
    }),
  );
  return done;
}

async function rawInserts(db: Knex, ms: number): Promise<number> {
  const t = performance.now();
  const rows = await saturate(ms, async () => {
    const now = new Date().toISOString();
    await db('journal').insert({ event_id: newId(), flow_id: `raw:${newId()}`, flow_type: 'bench', seq: 1, type: 'X', payload: '{"type":"X"}', correlation_id: null, causation_id: null, recorded_at: now, machine_version: 'bench', prev_hash: GENESIS_HASH, hash: GENESIS_HASH });
    return 1;
  });
  return rows / ((performance.now() - t) / 1000);
}

async function hostEvents(host: FlowHost, ms: number): Promise<number> {
  const t = performance.now();
  const events = await saturate(ms, async () => {
    const trid = crypto.randomUUID();
    await host.start('mint', `mint:${trid}`, mintInput(trid));
    await host.send(`mint:${trid}`, { type: 'JOURNAL_CONFIRMED' });
    return 2;
  });
  return events / ((performance.now() - t) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(options: BenchOptions): Promise<SectionResult> {
  const rounds = options.quick ? 1 : 3;
  const ms = options.quick ? 500 : 3000;
  const dir = tempDir('issuance-bench-journal-');
  const raw: number[] = [];
  const host: number[] = [];
  const batchSizes: number[] = [];
  let fallbacks = 0;
  for (let round = 0; round < rounds; round++) {
    // A fresh file per measurement, so neither side inherits the other's WAL or page cache.
    const rawDb = await openDatabase({ client: 'sqlite', filename: path.join(dir, `raw-${round}.sqlite`) });
    const hostDb = await openDatabase({ client: 'sqlite', filename: path.join(dir, `host-${round}.sqlite`) });
    const flows = new FlowHost(hostDb, [mintDefinition]);
    const order = round % 2 === 0 ? ['raw', 'host'] : ['host', 'raw'];
    for (const side of order) {
      options.progress(`journal: round ${round + 1}/${rounds}, ${side}, ${ms} ms at ${CONCURRENCY} concurrent`);
      if (side === 'raw') raw.push(await rawInserts(rawDb, ms));
      else host.push(await hostEvents(flows, ms));
    }
    batchSizes.push(...flows.commits.recentBatchSizes());
    fallbacks += flows.commits.fallbacks;
    await rawDb.destroy();
    await hostDb.destroy();
  }
  const sortedBatches = [...batchSizes].sort((a, b) => a - b);
  return {
    id: 'journal',
    title: '2. journal throughput (SQLite)',
    figures: [{ name: `events appended/s through the flow host, ${CONCURRENCY} concurrent`, value: median(host), unit: 'events/s', baseline: { name: 'raw single-row Knex inserts', value: median(raw) }, ratioTarget: { op: '>=', value: 3 } }],
    details: {
      rounds,
      msPerRound: ms,
      concurrency: CONCURRENCY,
      hostEventsPerSec: host,
      rawInsertsPerSec: raw,
      groupCommitBatchSize: { batches: sortedBatches.length, median: sortedBatches[Math.floor(sortedBatches.length / 2)], p90: sortedBatches[Math.floor(sortedBatches.length * 0.9)], max: sortedBatches[sortedBatches.length - 1], sentBackUnitByUnit: fallbacks },
      database: 'SQLite file, WAL, synchronous=FULL, one connection (both sides)',
      hostEvents: 'mint start + JOURNAL_CONFIRMED per flow, with the real mint machine and its view projection',
    },
  };
}
