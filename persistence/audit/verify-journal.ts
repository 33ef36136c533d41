import type { Knex } from 'knex';
import { GENESIS_HASH, hashedFieldsOfRow, journalRowHash } from '../journal-hash';
import { readJournalByFlow } from '../journal';

/** One journal row that does not fit its flow's chain, named so an auditor can find it. */
export interface ChainProblem {
  position: number | null;
  eventId: string | null;
  flowId: string;
  seq: number | null;
  problem: string;
}

export interface ChainVerification {
  ok: boolean;
  flows: number;
  events: number;
  /** The first problems found (at most `maxProblems`). */
  problems: ChainProblem[];
  /** How many problems there were in all. */
  problemCount: number;
}

const PAGE = 1000;

/**
 * Recomputes every flow's hash chain from the rows as they are stored now. A row whose fields were
 * edited no longer matches its hash; a row removed, inserted or re-hashed breaks the link from the
 * next row. A flow whose snapshot is at a later seq than its last journal row lost its tail. Reads
 * one flow's rows at a time in (flow_id, seq) order, so memory stays flat however long the journal.
 */
export async function verifyJournalChains(db: Knex, options: { maxProblems?: number } = {}): Promise<ChainVerification> {
  const maxProblems = options.maxProblems ?? 100;
  const problems: ChainProblem[] = [];
  let problemCount = 0;
  const report = (p: ChainProblem) => {
    problemCount++;
    if (problems.length < maxProblems) problems.push(p);
  };
  let flows = 0;
  let events = 0;
  let current: { flowId: string; lastSeq: number; lastHash: string | null } | undefined;

  const finishFlow = async () => {
    if (!current) return;
    const stored = await db('flows').where({ flow_id: current.flowId }).first('seq');
    if (stored && Number(stored.seq) > current.lastSeq) {
      report({ position: null, eventId: null, flowId: current.flowId, seq: Number(stored.seq), problem: `the flow's snapshot is at seq ${stored.seq} but its journal ends at seq ${current.lastSeq}: rows are missing from the end` });
    }
  };

  for await (const row of readJournalByFlow(db, PAGE)) {
    const seq = Number(row.seq);
    const named = { position: Number(row.position), eventId: row.event_id as string, flowId: row.flow_id as string, seq };
    if (current?.flowId !== row.flow_id) {
      await finishFlow();
      current = { flowId: row.flow_id, lastSeq: 0, lastHash: GENESIS_HASH };
      flows++;
    }
    const flow = current!;
    events++;
    if (seq !== flow.lastSeq + 1) report({ ...named, problem: flow.lastSeq === 0 ? `the flow's journal starts at seq ${seq}, not 1` : `seq ${seq} follows seq ${flow.lastSeq}: rows are missing` });
    if (!row.hash || !row.prev_hash) {
      report({ ...named, problem: 'the row carries no hash' });
    } else {
      if (flow.lastHash !== null && row.prev_hash !== flow.lastHash) report({ ...named, problem: `prev_hash does not match the hash of the flow's previous row (seq ${flow.lastSeq || 'none'})` });
      let recomputed: string | undefined;
      try {
        recomputed = journalRowHash(row.prev_hash, hashedFieldsOfRow(row));
      } catch {
        recomputed = undefined; // a payload that is no longer JSON
      }
      if (recomputed !== row.hash) report({ ...named, problem: 'the row does not match its hash: its fields were changed after it was written' });
    }
    flow.lastSeq = seq;
    flow.lastHash = row.hash ?? null;
  }
  await finishFlow();
  const journalless: Array<{ flow_id: string; seq: number }> = await db('flows')
    .whereNotExists((q) => q.select(db.raw('1')).from('journal').whereRaw('journal.flow_id = flows.flow_id'))
    .select('flow_id', 'seq');
  for (const f of journalless) report({ position: null, eventId: null, flowId: f.flow_id, seq: Number(f.seq), problem: 'the flow has a snapshot but no journal rows' });
  return { ok: problemCount === 0, flows, events, problems, problemCount };
}

export function describeProblem(p: ChainProblem): string {
  const where = p.position !== null ? `journal row ${p.position} (${p.flowId} seq ${p.seq}, event ${p.eventId})` : `${p.flowId}`;
  return `${where}: ${p.problem}`;
}
