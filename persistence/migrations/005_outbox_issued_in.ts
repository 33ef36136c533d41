import type { Knex } from 'knex';

// The state that asked for an effect: when the flow leaves it, the effect (if not started) is superseded.
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('outbox', (t) => {
    t.string('issued_in', 200).notNullable().defaultTo('');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('outbox', (t) => {
    t.dropColumn('issued_in');
  });
}
