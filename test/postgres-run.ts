import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';

/**
 * The second half of `npm test`: the whole suite again on PostgreSQL. Without a server to reach it
 * says so and stops there (exit 0) — unless REQUIRE_POSTGRES=1 (as `.ci/run` sets), which makes a
 * missing server a failure.
 */
const url = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const required = process.env.REQUIRE_POSTGRES === '1';
const shown = url.replace(/\/\/[^@/]*@/, '//…@');

async function reachable(): Promise<string | undefined> {
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

async function main(): Promise<void> {
  const problem = await reachable();
  if (problem) {
    const message = `PostgreSQL run ${required ? 'FAILED' : 'skipped'}: no PostgreSQL server at ${shown} (${problem}). Set TEST_POSTGRES_URL to run the suite on PostgreSQL.`;
    if (required) {
      process.stderr.write(`${message}\n`);
      process.exit(1);
    }
    process.stdout.write(`\n${message}\n`);
    return;
  }
  process.stdout.write(`\n=== the suite again, on PostgreSQL (${shown}) ===\n`);
  const root = path.resolve(__dirname, '..');
  const mocha = spawn(process.execPath, [path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TEST_DATABASE_URL: url },
  });
  mocha.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

void main();
