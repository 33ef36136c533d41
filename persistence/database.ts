import path from 'node:path';
import fs from 'node:fs';
import knex, { Knex } from 'knex';
import { migrationSource } from './migrations';

/** The database handle code outside persistence/ holds to build stores with; only stores query it. */
export type Database = Knex;

/** Where the journal lives. SQLite (a file, WAL) is the embedded default; PostgreSQL uses the same Knex code. */
export type DatabaseConfig =
  | { client: 'sqlite'; filename: string }
  | { client: 'pg'; connection: string; schema?: string };

export function sqliteFile(dataDir: string, name = 'issuance-bot.sqlite'): DatabaseConfig {
  fs.mkdirSync(dataDir, { recursive: true });
  return { client: 'sqlite', filename: path.join(dataDir, name) };
}

export async function openDatabase(config: DatabaseConfig): Promise<Knex> {
  const db =
    config.client === 'sqlite'
      ? // One connection: SQLite has one writer; Knex queues the rest instead of failing with SQLITE_BUSY.
        // synchronous=FULL: a commit is on disk before its caller hears of it. NORMAL (in WAL) may lose
        // the last commits on power loss: a mint request Alpaca was told we accepted, a signed
        // transaction about to be broadcast. Group commit (group-commit.ts) is what pays for the fsync.
        sqliteKnex(config.filename, 1, 'PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;')
      : knex({ client: 'pg', connection: config.connection, pool: { min: 0, max: 10 }, ...(config.schema ? { searchPath: [config.schema] } : {}) });
  if (config.client === 'pg' && config.schema) {
    // Several deployments (or test runs) may share one database, each in its own schema.
    await db.raw('CREATE SCHEMA IF NOT EXISTS ??', [config.schema]);
  }
  await migrateOnce(db);
  return db;
}

/**
 * Runs the migrations. Several instances starting at once on PostgreSQL take an advisory lock
 * first, so exactly one of them migrates and the others find the work done.
 */
async function migrateOnce(db: Knex): Promise<void> {
  if (!isPostgres(db)) {
    await db.migrate.latest({ migrationSource });
    return;
  }
  const conn = await db.client.acquireConnection();
  try {
    await conn.query('SELECT pg_advisory_lock(hashtext(current_schema()))');
    try {
      await db.migrate.latest({ migrationSource });
    } finally {
      await conn.query('SELECT pg_advisory_unlock(hashtext(current_schema()))');
    }
  } finally {
    await db.client.releaseConnection(conn);
  }
}

/**
 * Connections for the reads on the request path (registry look-ups, a repeat's flow): on SQLite, a few
 * read-only connections beside the one writer, so those reads run while the writer commits (WAL lets
 * readers see every commit finished before their read began). PostgreSQL's pool already does this.
 */
export function openReadPool(config: DatabaseConfig, writer: Knex): Knex {
  if (config.client !== 'sqlite') return writer;
  return sqliteKnex(config.filename, 3, 'PRAGMA query_only=ON;');
}

/** A Knex pool of `connections` on one SQLite file, each connection set up with `pragmas` first. */
function sqliteKnex(filename: string, connections: number, pragmas: string): Knex {
  return knex({
    client: 'sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: connections,
      afterCreate: (conn: any, done: (err: Error | null, conn: unknown) => void) => {
        conn.exec(`${pragmas} PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;`, (err: Error | null) => done(err, conn));
      },
    },
  });
}

export function isPostgres(db: Knex): boolean {
  return String(db.client.config.client).startsWith('pg');
}

/** JSON columns are text on SQLite and json on PostgreSQL; this reads both. */
export function readJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
