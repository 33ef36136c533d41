import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // Append-only event envelope. `position` gives one global order for replays and view rebuilds.
  await db.schema.createTable('journal', (t) => {
    t.increments('position').primary();
    t.string('event_id', 26).notNullable().unique();
    t.string('flow_id', 200).notNullable();
    t.string('flow_type', 40).notNullable();
    t.integer('seq').notNullable();
    t.string('type', 80).notNullable();
    t.text('payload').notNullable();
    t.string('correlation_id', 200);
    t.string('causation_id', 200);
    t.string('recorded_at', 30).notNullable();
    t.string('machine_version', 40).notNullable();
    t.unique(['flow_id', 'seq']);
    t.index(['flow_type', 'position']);
  });
  // The current snapshot of each flow; `seq` is the optimistic-concurrency check.
  await db.schema.createTable('flows', (t) => {
    t.string('flow_id', 200).primary();
    t.string('flow_type', 40).notNullable();
    t.integer('seq').notNullable();
    t.string('state', 200).notNullable();
    t.string('status', 20).notNullable(); // active | done
    t.boolean('needs_operator').notNullable().defaultTo(false);
    t.text('snapshot').notNullable();
    t.string('machine_version', 40).notNullable();
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.index(['status']);
    t.index(['flow_type', 'state']);
  });
  // Effects the machines asked for; the row id is the idempotency key given to the adapter.
  await db.schema.createTable('outbox', (t) => {
    t.string('effect_id', 26).primary();
    t.string('flow_id', 200).notNullable();
    t.string('type', 80).notNullable();
    t.text('params').notNullable();
    t.string('status', 20).notNullable(); // pending | done | failed
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable();
    t.bigInteger('lease_until').notNullable().defaultTo(0);
    t.text('last_error');
    t.string('caused_by', 26).notNullable();
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.index(['status', 'next_attempt_at']);
    t.index(['flow_id']);
  });
  // Durable delayed events (XState does not persist its own `after` timers).
  await db.schema.createTable('timers', (t) => {
    t.string('timer_id', 26).primary();
    t.string('flow_id', 200).notNullable();
    t.string('send_id', 200).notNullable();
    t.text('event').notNullable();
    t.bigInteger('due_at').notNullable();
    t.string('created_at', 30).notNullable();
    t.unique(['flow_id', 'send_id']);
    t.index(['due_at']);
  });
  // Signature nonces seen within the freshness window (RFC 9421 replay protection).
  await db.schema.createTable('auth_nonces', (t) => {
    t.string('keyid', 200).notNullable();
    t.string('nonce', 200).notNullable();
    t.bigInteger('expires_at').notNullable();
    t.primary(['keyid', 'nonce']);
  });
}

export async function down(db: Knex): Promise<void> {
  for (const table of ['auth_nonces', 'timers', 'outbox', 'flows', 'journal']) await db.schema.dropTableIfExists(table);
}
