import type { Knex } from 'knex';

// Work that exactly one instance may do at a time (the transfer poller): who holds it, and until when.
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('leases', (t) => {
    t.string('name', 200).primary();
    t.string('holder', 200).notNullable();
    t.bigInteger('expires_at').notNullable();
    t.string('acquired_at', 40).notNullable();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('leases');
}
