import fs from 'node:fs';
import { finished } from 'node:stream/promises';
import { type Command, Option } from 'commander';
import { CliFailure, UsageError } from '../errors';
import { parseInstant } from '../options';
import { print, printJson, table } from '../output';
import type { CommandContext } from '../context';

/**
 * The journal for auditors. `audit export` downloads a hash-chained export from a running instance;
 * `audit verify` recomputes every flow's chain on the configured database, or checks an export file.
 */
export function auditCommands(program: Command, context: CommandContext): void {
  const audit = program.command('audit').description('journal exports for auditors, and their hash chains');

  audit
    .command('export')
    .description('export the journal (a time range, one flow, or all of it) as hash-chained JSON lines or CSV')
    .option('--from <time>', 'events recorded at or after this ISO 8601 time', parseInstant)
    .option('--to <time>', 'events recorded before this ISO 8601 time', parseInstant)
    .option('--flow <flowId>', 'only this flow (mint:…, redemption:…) or registry entity (asset:…, ap:…)')
    .addOption(new Option('--format <format>', 'jsonl or csv').choices(['jsonl', 'csv']).default('jsonl'))
    .option('--out <file>', 'write to this file (created; an existing file is not overwritten) instead of stdout')
    .action(async (o, cmd: Command) => {
      const api = context.api(cmd);
      const query = { from: o.from, to: o.to, flow: o.flow, format: o.format };
      if (!o.out) {
        await api.download('/operator/audit/export', query, (chunk) => writeOut(chunk));
        return;
      }
      let out: fs.WriteStream;
      try {
        out = fs.createWriteStream(o.out, { flags: 'wx', mode: 0o600 });
        await new Promise<void>((resolve, reject) => out.once('open', () => resolve()).once('error', reject));
      } catch (err) {
        throw new UsageError(`cannot create --out ${o.out}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      try {
        await api.download('/operator/audit/export', query, (chunk) => (out.write(chunk) ? undefined : new Promise<void>((r) => out.once('drain', () => r()))));
      } finally {
        out.end();
        await finished(out).catch(() => undefined);
      }
      // Read back what was written: a download cut short, or changed on the way, shows here and not months later.
      const result = await verifyFile(o.out);
      if (context.json(cmd)) printJson({ file: o.out, format: result.format, events: result.events, flows: result.flows, final_hash: result.finalHash, ok: result.ok, problems: result.problems });
      else print(`exported ${result.events} event${result.events === 1 ? '' : 's'} of ${result.flows} flow${result.flows === 1 ? '' : 's'} to ${o.out} (${result.format}); final line hash ${result.finalHash}`);
      if (!result.ok) throw new CliFailure(`the export written to ${o.out} does not verify: ${result.problems[0]?.problem ?? 'unknown problem'}`);
    });

  audit
    .command('verify')
    .description("recompute every flow's hash chain in the configured database (DATA_DIR / DATABASE_URL), or check an export file")
    .option('--file <export>', 'check this export file instead of the database')
    .action(async (o, cmd: Command) => {
      if (o.file) return verifyExportFile(context, cmd, o.file);
      return verifyDatabase(context, cmd);
    });
}

function writeOut(chunk: Uint8Array): Promise<void> | undefined {
  return process.stdout.write(chunk) ? undefined : new Promise<void>((r) => process.stdout.once('drain', () => r()));
}

async function verifyFile(file: string) {
  const { verifyExport } = require('../../persistence/audit/verify-export') as typeof import('../../persistence/audit/verify-export');
  let stream: fs.ReadStream;
  try {
    stream = fs.createReadStream(file, { encoding: 'utf8' });
    await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return verifyExport(stream);
}

async function verifyExportFile(context: CommandContext, cmd: Command, file: string): Promise<void> {
  const result = await verifyFile(file);
  if (context.json(cmd)) {
    printJson({ file, ok: result.ok, format: result.format, events: result.events, flows: result.flows, final_hash: result.finalHash, problems: result.problems });
  } else {
    if (result.problems.length) print(table(['line', 'problem'], result.problems.map((p) => [p.line, p.problem])));
    print(`${file}: ${result.format ?? 'unreadable'}, ${result.events} events of ${result.flows} flows, ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}; final line hash ${result.finalHash ?? '-'}`);
  }
  if (!result.ok) throw new CliFailure(`${file} does not verify: line ${result.problems[0]!.line}: ${result.problems[0]!.problem}`);
}

async function verifyDatabase(context: CommandContext, cmd: Command): Promise<void> {
  // Loaded here: the database is not needed by the remote commands.
  const { openConfiguredDatabase } = require('../replay') as typeof import('../replay');
  const { describeProblem, verifyJournalChains } = require('../../persistence/audit/verify-journal') as typeof import('../../persistence/audit/verify-journal');
  let db;
  try {
    db = await openConfiguredDatabase(context.env);
  } catch (err) {
    throw new CliFailure(`cannot open the database: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
  }
  try {
    const result = await verifyJournalChains(db);
    if (context.json(cmd)) {
      printJson({ ok: result.ok, flows: result.flows, events: result.events, problem_count: result.problemCount, problems: result.problems.map((p) => ({ position: p.position, event_id: p.eventId, flow_id: p.flowId, seq: p.seq, problem: p.problem })) });
    } else {
      if (result.problems.length) print(table(['row', 'flow', 'seq', 'event', 'problem'], result.problems.map((p) => [p.position ?? '-', p.flowId, p.seq ?? '-', p.eventId ?? '-', p.problem])));
      print(`journal: ${result.flows} flows, ${result.events} events, ${result.problemCount} problem${result.problemCount === 1 ? '' : 's'}`);
    }
    if (!result.ok) throw new CliFailure(`the journal's hash chain is broken: ${describeProblem(result.problems[0]!)}`);
  } finally {
    await db.destroy();
  }
}
