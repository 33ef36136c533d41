import type { AnyMachineSnapshot } from 'xstate';
import { readJson } from './database';
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
