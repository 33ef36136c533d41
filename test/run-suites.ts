import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';

/**
 * `npm test`: the whole suite on SQLite and, at the same time, again on PostgreSQL (the two runs
 * share nothing: temp directories, ports and schemas are their own). The SQLite run prints as it
 * goes; the PostgreSQL run's report follows it. Without a PostgreSQL server to reach, that run is
 * skipped with a message — unless REQUIRE_POSTGRES=1 (as `.ci/run` sets), which makes it a failure.
 * Arguments are passed to both mocha runs.
 */
const url = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const required = process.env.REQUIRE_POSTGRES === '1';
const shown = url.replace(/\/\/[^@/]*@/, '//…@');
const root = path.resolve(__dirname, '..');
const mochaBin = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');

async function unreachable(): Promise<string | undefined> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function mocha(env: NodeJS.ProcessEnv, output: 'inherit' | 'buffer'): { child: ChildProcess; done: Promise<number>; text: () => string } {
  let text = '';
  const child = spawn(process.execPath, [mochaBin, ...process.argv.slice(2)], { cwd: root, env, stdio: output === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
  if (output === 'buffer') {
    child.stdout!.on('data', (d) => (text += d.toString()));
    child.stderr!.on('data', (d) => (text += d.toString()));
  }
  const done = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  return { child, done, text: () => text };
}

async function main(): Promise<void> {
  const { TEST_DATABASE_URL: _ignored, ...base } = process.env;
  const problem = await unreachable();
  if (problem && required) {
    process.stderr.write(`PostgreSQL run FAILED: no PostgreSQL server at ${shown} (${problem}). Set TEST_POSTGRES_URL to point at one.\n`);
    process.exit(1);
  }
  const postgres = problem ? undefined : mocha({ ...base, TEST_DATABASE_URL: url }, 'buffer');
  const sqlite = mocha(base, 'inherit');
  const stop = () => {
    sqlite.child.kill('SIGTERM');
    postgres?.child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const sqliteCode = await sqlite.done;
  let postgresCode = 0;
  if (postgres) {
    postgresCode = await postgres.done;
    process.stdout.write(`\n=== the same suite on PostgreSQL (${shown}) ===\n${postgres.text()}`);
  } else {
    process.stdout.write(`\nPostgreSQL run skipped: no PostgreSQL server at ${shown} (${problem}). Set TEST_POSTGRES_URL to run the suite on PostgreSQL.\n`);
  }
  process.stdout.write(`\nSQLite run: ${sqliteCode === 0 ? 'passed' : 'FAILED'}; PostgreSQL run: ${postgres ? (postgresCode === 0 ? 'passed' : 'FAILED') : 'skipped'}\n`);
  process.exit(sqliteCode || postgresCode);
}

void main();
