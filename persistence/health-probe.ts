import type { Database } from './database';

/** Rejects when the database does not answer (readiness probe). */
export async function pingDatabase(db: Database): Promise<void> {
  await db.raw('select 1');
}
