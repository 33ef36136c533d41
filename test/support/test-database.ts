import path from 'node:path';
import type { Knex } from 'knex';
import { type DatabaseConfig, openDatabase, sqliteFile } from '../../persistence/database';
import type { ServiceConfig } from '../../server/config';

/**
 * Which backend the suite runs on: SQLite files by default; PostgreSQL when TEST_DATABASE_URL is set
 * (`npm test` runs the suite once more that way). On PostgreSQL each test data directory gets its own
 * schema, named after the directory, so services side by side never share tables and a restarted
 * service (or a child process) finds its own.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;
export const SCHEMA_PREFIX = 'itest_';

export function onPostgres(): boolean {
  return TEST_DATABASE_URL !== undefined;
}

export function schemaFor(dataDir: string, name = 'issuance-bot'): string {
  const base = `${path.basename(dataDir)}_${name}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `${SCHEMA_PREFIX}${base}`.slice(0, 63);
}

/** The service configuration fields that choose the database of this data directory. */
export function testDatabaseConfig(dataDir: string): Pick<ServiceConfig, 'databaseUrl' | 'databaseSchema'> {
  return TEST_DATABASE_URL ? { databaseUrl: TEST_DATABASE_URL, databaseSchema: schemaFor(dataDir) } : {};
}

/** The same, as environment variables for a service run as a child process. */
export function testDatabaseEnv(dataDir: string): Record<string, string> {
  return TEST_DATABASE_URL ? { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schemaFor(dataDir) } : {};
}

/** A database of the suite's backend for a test that opens one directly (`name` tells two apart in one directory). */
export function testDatabase(dataDir: string, name = 'issuance-bot'): DatabaseConfig {
  if (TEST_DATABASE_URL) return { client: 'pg', connection: TEST_DATABASE_URL, schema: schemaFor(dataDir, name) };
  return name === 'issuance-bot' ? sqliteFile(dataDir) : { client: 'sqlite', filename: path.join(dataDir, `${name}.sqlite`) };
}

export function openTestDatabase(dataDir: string, name?: string): Promise<Knex> {
  return openDatabase(testDatabase(dataDir, name));
}

/** Every table of the database (for tests that look through all of them). */
export async function listTables(db: Knex): Promise<string[]> {
  if (String(db.client.config.client).startsWith('pg')) {
    const r = await db.raw('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()');
    return (r.rows as Array<{ name: string }>).map((t) => t.name);
  }
  return ((await db.raw("SELECT name FROM sqlite_master WHERE type = 'table'")) as Array<{ name: string }>).map((t) => t.name);
}
