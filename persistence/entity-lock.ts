import type { Knex } from 'knex';
import { isPostgres } from './database';

/**
 * Makes transactions that touch one entity (`ap:<id>`, `controls:asset:<id>`, …) take turns until
 * they commit: on PostgreSQL an advisory lock on the entity's journal id, held to the end of the
 * transaction. SQLite runs one write transaction at a time, so it needs none.
 */
export async function lockEntity(trx: Knex.Transaction, entityId: string): Promise<void> {
  if (isPostgres(trx)) await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [entityId]);
}
