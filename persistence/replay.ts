import type { Knex } from 'knex';
import { isDeepStrictEqual } from 'node:util';
import type { AnyMachineSnapshot } from 'xstate';
import type { FlowDefinition } from './flow-definition';
import { applyEntry } from './fold';
import { toStoredFlow, fromFlowRow } from './flow-store';
import { readWholeJournal, readFlowJournal } from './journal';
import { projectRegistryEvent, REGISTRY_VIEWS } from './registry/projection';

export interface SnapshotMismatch {
  flowId: string;
  stored: unknown;
  replayed: unknown;
}

/** Folds each flow's journal through its machine and compares the result with the stored snapshot. */
export async function verifySnapshots(db: Knex, definitions: FlowDefinition[]): Promise<{ flows: number; events: number; mismatches: SnapshotMismatch[] }> {
  const defs = new Map(definitions.map((d) => [d.type, d]));
  const mismatches: SnapshotMismatch[] = [];
  let flows = 0;
  let events = 0;
  for (const row of await db('flows').orderBy('flow_id')) {
    const stored = fromFlowRow(row);
    const def = defs.get(stored.flowType);
    if (!def) throw new Error(`No definition for flow type ${stored.flowType}`);
    const entries = await readFlowJournal(db, stored.flowId);
    let snapshot: AnyMachineSnapshot | undefined;
    for (const e of entries) snapshot = applyEntry(def, snapshot, e);
    events += entries.length;
    flows++;
    const replayed = snapshot && toStoredFlow(def, stored.flowId, entries.length, snapshot, stored.createdAt, stored.updatedAt);
    const same = replayed && replayed.seq === stored.seq && replayed.state === stored.state && replayed.status === stored.status && isDeepStrictEqual(replayed.snapshot, stored.snapshot);
    if (!same) mismatches.push({ flowId: stored.flowId, stored: stored.snapshot, replayed: replayed?.snapshot });
  }
  return { flows, events, mismatches };
}

function viewTables(definitions: FlowDefinition[]): string[] {
  return [...REGISTRY_VIEWS, ...definitions.flatMap((d) => d.views ?? [])];
}

/** Empties every view and projects the whole journal into it again, in journal order. */
export async function rebuildViewsIn(trx: Knex.Transaction, definitions: FlowDefinition[]): Promise<number> {
  const defs = new Map(definitions.map((d) => [d.type, d]));
  for (const table of viewTables(definitions)) await trx(table).delete();
  const snapshots = new Map<string, { snapshot: AnyMachineSnapshot; createdAt: string }>();
  let events = 0;
  for await (const e of readWholeJournal(trx)) {
    events++;
    const def = defs.get(e.flowType);
    if (!def) {
      await projectRegistryEvent(trx, e);
      continue;
    }
    const before = snapshots.get(e.flowId);
    const snapshot = applyEntry(def, before?.snapshot, e);
    const createdAt = before?.createdAt ?? e.recordedAt;
    snapshots.set(e.flowId, { snapshot, createdAt });
    await def.project?.(trx, toStoredFlow(def, e.flowId, e.seq, snapshot, createdAt, e.recordedAt), e.recordedAt);
  }
  return events;
}

export async function rebuildViews(db: Knex, definitions: FlowDefinition[]): Promise<number> {
  return db.transaction((trx) => rebuildViewsIn(trx, definitions));
}

async function dumpViews(db: Knex | Knex.Transaction, definitions: FlowDefinition[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of viewTables(definitions)) {
    const rows = await db(table).select();
    out[table] = rows.map((r: Record<string, unknown>) => JSON.stringify(r, Object.keys(r).sort())).sort();
  }
  return out;
}

/** Rebuilds the views inside a transaction that is rolled back, and reports any table whose rows differ. */
export async function checkViews(db: Knex, definitions: FlowDefinition[]): Promise<{ tables: number; differing: string[] }> {
  const live = await dumpViews(db, definitions);
  const differing: string[] = [];
  const rollback = new Error('rollback');
  await db
    .transaction(async (trx) => {
      await rebuildViewsIn(trx, definitions);
      const rebuilt = await dumpViews(trx, definitions);
      for (const table of Object.keys(live)) if (!isDeepStrictEqual(live[table], rebuilt[table])) differing.push(table);
      throw rollback;
    })
    .catch((err) => {
      if (err !== rollback) throw err;
    });
  return { tables: Object.keys(live).length, differing };
}
