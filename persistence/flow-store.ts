import type { AnyMachineSnapshot } from 'xstate';
import { type Database, isPostgres, readJson } from './database';
import { knexOf, type Tx } from './transaction';
import { decodeTags, encodeTags } from './flow-tags';
import { type FlowDefinition, type StoredFlow, NEEDS_OPERATOR_TAG, stateName } from './flow-definition';

/** The `flows` table's rows: one per flow, its current snapshot and where it stands. */

export function toStoredFlow(def: FlowDefinition, flowId: string, seq: number, snapshot: AnyMachineSnapshot, createdAt: string, updatedAt: string): StoredFlow {
  const persisted = def.machine.getPersistedSnapshot(snapshot) as unknown as StoredFlow['snapshot'];
  return {
    flowId,
    flowType: def.type,
    seq,
    state: stateName(snapshot.value),
    status: snapshot.status as StoredFlow['status'],
    needsOperator: snapshot.hasTag(NEEDS_OPERATOR_TAG),
    tags: [...snapshot.tags].sort(),
    snapshot: JSON.parse(JSON.stringify(persisted)),
    machineVersion: def.version,
    createdAt,
    updatedAt,
  };
}

export function flowRow(f: StoredFlow, journalHash: string) {
  return {
    journal_hash: journalHash,
    flow_id: f.flowId,
    flow_type: f.flowType,
    seq: f.seq,
    state: f.state,
    status: f.status,
    needs_operator: f.needsOperator,
    tags: encodeTags(f.tags),
    snapshot: JSON.stringify(f.snapshot),
    machine_version: f.machineVersion,
    created_at: f.createdAt,
    updated_at: f.updatedAt,
  };
}

export function fromFlowRow(row: any): StoredFlow {
  return {
    flowId: row.flow_id,
    flowType: row.flow_type,
    seq: Number(row.seq),
    state: row.state,
    status: row.status,
    needsOperator: Boolean(row.needs_operator),
    tags: decodeTags(row.tags),
    snapshot: readJson(row.snapshot),
    machineVersion: row.machine_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Active flows of one type, machine version and state value (the value as JSON text; null if absent). */
export interface ActiveFlowGroup {
  flowType: string;
  machineVersion: string;
  stateValue: string | null;
  flows: number;
  needsOperator: number;
  /** One flow of the group, to name in an error. */
  example: string;
}

/** The `flows` table: the host's reads and writes of a flow's current row. */
export class FlowStore {
  constructor(private readonly db: Database) {}

  /** A new flow's row; a flow that exists already fails the journal's key before this runs. */
  async insert(tx: Tx, flow: StoredFlow, journalHash: string): Promise<void> {
    await knexOf(tx)('flows').insert(flowRow(flow, journalHash));
  }

  /** The flow as it stands inside `tx`, with the hash of its last journal row (the next row chains to it). */
  async readForUpdate(tx: Tx, flowId: string): Promise<{ flow: StoredFlow; journalHash: string | undefined } | undefined> {
    const row = await knexOf(tx)('flows').where({ flow_id: flowId }).first();
    return row ? { flow: fromFlowRow(row), journalHash: row.journal_hash ?? undefined } : undefined;
  }

  /** Writes the flow's next row if it is still at `expectedSeq` (optimistic check); false if another writer moved it. */
  async update(tx: Tx, flow: StoredFlow, journalHash: string, expectedSeq: number): Promise<boolean> {
    const updated = await knexOf(tx)('flows')
      .where({ flow_id: flow.flowId, seq: expectedSeq })
      .update(flowRow(flow, journalHash));
    return updated === 1;
  }

  /** The flow as last committed, read on `reader` (a read pool on the request path) or the writer. */
  async get(flowId: string, reader: Database = this.db): Promise<StoredFlow | undefined> {
    const row = await reader('flows').where({ flow_id: flowId }).first();
    return row ? fromFlowRow(row) : undefined;
  }

  /**
   * The active flows grouped by type, machine version and state value, each value read out of its
   * snapshot's JSON by the database (a snapshot that is not JSON fails the query): restore checks
   * each group once instead of shipping every snapshot to JavaScript.
   */
  async activeGroups(): Promise<ActiveFlowGroup[]> {
    const db = this.db;
    // The value as JSON text: `->` keeps strings quoted on SQLite; jsonb gives PostgreSQL one text per value.
    const stateValue = isPostgres(db) ? `(snapshot::jsonb -> 'value')::text` : `snapshot -> '$.value'`;
    const groups: Array<{ flow_type: string; machine_version: string; state_value: string | null; flows: number | string; needs_operator: number | string | null; example: string }> = await db('flows')
      .where({ status: 'active' })
      .select(
        'flow_type',
        'machine_version',
        db.raw(`${stateValue} as state_value`),
        db.raw('count(*) as flows'),
        db.raw('sum(case when needs_operator then 1 else 0 end) as needs_operator'),
        db.raw('min(flow_id) as example'),
      )
      .groupByRaw('1, 2, 3');
    return groups.map((g) => ({
      flowType: g.flow_type,
      machineVersion: g.machine_version,
      stateValue: g.state_value,
      flows: Number(g.flows),
      needsOperator: Number(g.needs_operator ?? 0),
      example: g.example,
    }));
  }
}
