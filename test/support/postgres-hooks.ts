import knex from 'knex';
import { SCHEMA_PREFIX, TEST_DATABASE_URL } from './test-database';

/**
 * On the PostgreSQL run, schemas left by an earlier run are dropped first, so every run starts from
 * empty tables (and the shared database does not grow run after run).
 */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    if (!TEST_DATABASE_URL) return;
    this.timeout(60_000);
    const db = knex({ client: 'pg', connection: TEST_DATABASE_URL, pool: { min: 0, max: 1 } });
    try {
      const r = await db.raw('SELECT nspname FROM pg_namespace WHERE starts_with(nspname, ?)', [SCHEMA_PREFIX]);
      for (const { nspname } of r.rows as Array<{ nspname: string }>) await db.raw('DROP SCHEMA ?? CASCADE', [nspname]);
    } finally {
      await db.destroy();
    }
  },
};
