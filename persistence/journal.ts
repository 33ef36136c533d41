import type { Knex } from 'knex';
import { newId } from '../core/ids';
import { insertAppendOnly } from './group-commit';
import { readJson } from './database';
import { GENESIS_HASH, journalRowHash } from './journal-hash';

/** One journal row: an event that happened to one flow or registry entity, in its order. */
export interface JournalEntry {
  position?: number;
  eventId: string;
  flowId: string;
  flowType: string;
  seq: number;
  type: string;
  payload: Record<string, unknown>;
  correlationId: string | null;
  causationId: string | null;
  recordedAt: string;
  machineVersion: string;
}

export interface NewJournalEntry {
  flowId: string;
  flowType: string;
  seq: number;
  type: string;
  payload: Record<string, unknown>;
  correlationId?: string | null;
  causationId?: string | null;
  recordedAt: string;
  machineVersion: string;
}

/**
 * Appends one event. The unique (flow_id, seq) key turns a lost race into an error, never a fork.
 * The row is chained to its flow's previous row (journal-hash.ts): two appends racing for one seq
 * read the same previous row, and the loser fails on the key as before; appends to other flows read
 * other rows, so nothing here serializes them.
 */
export async function appendToJournal(trx: Knex.Transaction, entry: NewJournalEntry, knownPrevHash?: string): Promise<JournalEntry & { hash: string }> {
  const row: JournalEntry = {
    eventId: newId(),
    flowId: entry.flowId,
    flowType: entry.flowType,
    seq: entry.seq,
    type: entry.type,
    payload: entry.payload,
    correlationId: entry.correlationId ?? null,
    causationId: entry.causationId ?? null,
    recordedAt: entry.recordedAt,
    machineVersion: entry.machineVersion,
  };
  // The host passes the hash it keeps on the flow row (or genesis for a new flow); others read it.
  const prevHash: string =
    knownPrevHash ?? (row.seq === 1 ? GENESIS_HASH : ((await trx('journal').where({ flow_id: row.flowId }).andWhere('seq', '<', row.seq).orderBy('seq', 'desc').first('hash'))?.hash ?? GENESIS_HASH));
  // Hashed as it will read back: the stored JSON text, parsed (undefined fields gone, dates as strings).
  const payloadText = JSON.stringify(row.payload);
  const hash = journalRowHash(prevHash, { ...row, payload: JSON.parse(payloadText) });
  await insertAppendOnly(trx, 'journal', {
    event_id: row.eventId,
    flow_id: row.flowId,
    flow_type: row.flowType,
    seq: row.seq,
    type: row.type,
    payload: payloadText,
    correlation_id: row.correlationId,
    causation_id: row.causationId,
    recorded_at: row.recordedAt,
    machine_version: row.machineVersion,
    prev_hash: prevHash,
    hash,
  });
  return { ...row, hash };
}

export function toJournalEntry(row: any): JournalEntry {
  return {
    position: Number(row.position),
    eventId: row.event_id,
    flowId: row.flow_id,
    flowType: row.flow_type,
    seq: Number(row.seq),
    type: row.type,
    payload: readJson(row.payload),
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    recordedAt: row.recorded_at,
    machineVersion: row.machine_version,
  };
}

export async function readFlowJournal(db: Knex | Knex.Transaction, flowId: string): Promise<JournalEntry[]> {
  const rows = await db('journal').where({ flow_id: flowId }).orderBy('seq');
  return rows.map(toJournalEntry);
}

/** Streams the whole journal in global order, a page at a time, so a rebuild never loads it all at once. */
export async function* readWholeJournal(db: Knex | Knex.Transaction, pageSize = 1000): AsyncGenerator<JournalEntry> {
  let after = 0;
  for (;;) {
    const rows = await db('journal').where('position', '>', after).orderBy('position').limit(pageSize);
    if (rows.length === 0) return;
    for (const row of rows) yield toJournalEntry(row);
    after = Number(rows[rows.length - 1].position);
  }
}

/**
 * Streams the journal's raw rows flow by flow, each flow's in seq order, a page at a time (keyset on
 * flow id and seq): what chain checks walk, since each row's link is to its flow's previous row.
 */
export async function* readJournalByFlow(db: Knex | Knex.Transaction, pageSize = 1000): AsyncGenerator<Record<string, any>> {
  let after: { flowId: string; seq: number } | undefined;
  for (;;) {
    const page = db('journal').orderBy([{ column: 'flow_id' }, { column: 'seq' }]).limit(pageSize);
    if (after) {
      const a = after;
      page.where((w) => w.where('flow_id', '>', a.flowId).orWhere((x) => x.where('flow_id', a.flowId).andWhere('seq', '>', a.seq)));
    }
    const rows: Array<Record<string, any>> = await page;
    if (rows.length === 0) return;
    yield* rows;
    const last = rows[rows.length - 1]!;
    after = { flowId: last.flow_id, seq: Number(last.seq) };
  }
}

export async function lastSeq(trx: Knex | Knex.Transaction, flowId: string): Promise<number> {
  const row = await trx('journal').where({ flow_id: flowId }).max({ seq: 'seq' }).first();
  return Number(row?.seq ?? 0);
}
