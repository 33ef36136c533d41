import type { Knex } from 'knex';

/**
 * Each flow row keeps the hash of its flow's last journal row, written in the same transaction as that
 * row and under the same seq check, so an append reads its predecessor's hash with the flow it already
 * reads instead of one more query per event.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('flows', (t) => {
    t.string('journal_hash', 64);
  });
  await db('flows').update({
    journal_hash: db('journal').select('hash').whereRaw('journal.flow_id = flows.flow_id').orderBy('seq', 'desc').limit(1),
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('flows', (t) => {
    t.dropColumn('journal_hash');
  });
}
