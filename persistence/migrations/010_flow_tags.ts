import type { Knex } from 'knex';
import type { AnyStateMachine } from 'xstate';
import { mintMachine } from '../../machines/mint';
import { redemptionMachine } from '../../machines/redemption';
import { encodeTags } from '../flow-tags';

/**
 * Each flow row carries its state's tags (machines/tags.ts), written with every snapshot, so readers
 * (reconciliation, daily caps, the operator API) filter on what a state means, never on its name.
 * Existing rows get theirs from their stored snapshot resolved against the machine.
 */
const MACHINES: Record<string, AnyStateMachine> = { mint: mintMachine, redemption: redemptionMachine };

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('flows', (t) => {
    t.text('tags').notNullable().defaultTo('');
  });
  const rows: Array<{ flow_id: string; flow_type: string; snapshot: unknown }> = await db('flows').select('flow_id', 'flow_type', 'snapshot');
  for (const row of rows) {
    const machine = MACHINES[row.flow_type];
    if (!machine) continue;
    const persisted = typeof row.snapshot === 'string' ? JSON.parse(row.snapshot) : row.snapshot;
    const tags = [...machine.resolveState(persisted).tags];
    if (tags.length) await db('flows').where({ flow_id: row.flow_id }).update({ tags: encodeTags(tags) });
  }
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('flows', (t) => {
    t.dropColumn('tags');
  });
}
