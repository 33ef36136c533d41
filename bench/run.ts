import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { type BenchOptions, type Section, type SectionResult, formatTable, machine } from './report';

/**
 * `npm run bench`: every figure of the performance issue in one run on one machine, each next to its
 * target and, where there is one, the baseline measured in the same run. Prints a table (stdout) and
 * writes `bench/results.json`. `--quick` (or `npm run bench --quick`) is the CI smoke run: tiny sizes,
 * written to `bench/results.quick.json`; it checks that every section still works, not its speed.
 * `--only accept,journal` runs some sections.
 */
const SECTIONS: Array<{ id: string; file: string }> = [
  { id: 'accept', file: 'accept' },
  { id: 'journal', file: 'journal' },
  { id: 'mints', file: 'mints' },
  { id: 'restore', file: 'restore' },
  { id: 'peer', file: 'peer-dbos' },
];

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const inline = process.argv.find((a) => a.startsWith(`--${name}=`));
  return inline?.slice(name.length + 3);
}

async function reachablePostgres(): Promise<string | undefined> {
  const url = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick') || process.env.npm_config_quick === 'true';
  const only = argument('only')?.split(',');
  const out = argument('out') ?? path.join(__dirname, quick ? 'results.quick.json' : 'results.json');
  const options: BenchOptions = { quick, progress: (line) => process.stderr.write(`${line}\n`), postgresUrl: await reachablePostgres() };
  const started = Date.now();
  const sections: SectionResult[] = [];
  const failures: string[] = [];
  for (const s of SECTIONS.filter((x) => !only || only.includes(x.id))) {
    const t = Date.now();
    options.progress(`— ${s.id}${quick ? ' (quick)' : ''}`);
    try {
      const { run } = (await import(path.join(__dirname, s.file))) as { run: Section };
      const result = await run(options);
      sections.push(result);
      options.progress(`— ${s.id} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    } catch (err) {
      failures.push(s.id);
      process.stderr.write(`section ${s.id} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      sections.push({ id: s.id, title: s.id, figures: [], skipped: `failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  const results = { recordedAt: new Date().toISOString(), quick, machine: machine(), durationSeconds: Math.round((Date.now() - started) / 1000), sections };
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  const m = results.machine;
  process.stdout.write(`\n${quick ? 'QUICK smoke run (sizes too small for the figures to mean anything)\n' : ''}${m.cores} cores (${m.cpuModel}), ${m.memoryGB} GB, Node ${m.node}, ${m.platform}; ${results.durationSeconds} s\n\n${formatTable(sections)}\n\nwritten to ${path.relative(process.cwd(), out)}\n`);
  if (failures.length) {
    process.stderr.write(`failed sections: ${failures.join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
