import type { Knex } from 'knex';
import { appendToJournal, lastSeq, type JournalEntry } from './journal';
import { projectRegistryEvent } from './registry/projection';
import { lockEntity } from './entity-lock';

export const REGISTRY_VERSION = 'registry@1';

/**
 * Registry entities (authorized participants, tokenized assets) are not state machines, but every
 * change to them is still a journal event, projected into its view in the same transaction. Operator
 * actions on effects are journaled the same way (entity `effect:<id>`), so the audit trail holds them,
 * and so are changes to the risk controls (entity `controls:<scope>`, persistence/controls/).
 */
export async function recordEntityEvent(
  trx: Knex.Transaction,
  entity: { type: 'ap' | 'asset' | 'effect' | 'controls'; id: string },
  event: { type: string; payload: Record<string, unknown> },
  recordedAt: string,
  correlationId?: string,
): Promise<JournalEntry> {
  const flowId = `${entity.type}:${entity.id}`;
  // Concurrent changes to one entity (several instances, or one on PostgreSQL's many connections)
  // take turns here, so each gets the next seq instead of colliding on it.
  await lockEntity(trx, flowId);
  const entry = await appendToJournal(trx, {
    flowId,
    flowType: entity.type,
    seq: (await lastSeq(trx, flowId)) + 1,
    type: event.type,
    payload: event.payload,
    correlationId: correlationId ?? flowId,
    recordedAt,
    machineVersion: REGISTRY_VERSION,
  });
  await projectRegistryEvent(trx, entry);
  return entry;
}
