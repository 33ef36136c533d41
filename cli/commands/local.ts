import type { Command } from 'commander';
import { CliFailure } from '../errors';
import { print, printJson } from '../output';
import type { CommandContext } from '../context';

/**
 * Commands that open the database directly, with the service's own configuration (DATA_DIR or
 * DATABASE_URL, read as the service reads them). The replay code is the one `npm run replay` runs.
 */
export function localCommands(program: Command, context: CommandContext): void {
  program
    .command('replay')
    .description('check the journal against the stored state (opens the database of DATA_DIR / DATABASE_URL)')
    .command('verify')
    .description('replay every flow journal and compare with its snapshot; rebuild the views in a rolled-back transaction and compare')
    .action(async (_o, cmd: Command) => runReplay(context, cmd, false));

  program
    .command('views')
    .description('views (projections of the journal)')
    .command('rebuild')
    .description('replace every view with a rebuild from the journal (stop the service first)')
    .action(async (_o, cmd: Command) => runReplay(context, cmd, true));
}

async function runReplay(context: CommandContext, cmd: Command, rebuild: boolean): Promise<void> {
  // Loaded here: the database and the machines are not needed by the remote commands.
  const { describeReplay, openConfiguredDatabase, replayDatabase } = require('../replay') as typeof import('../replay');
  let db;
  try {
    db = await openConfiguredDatabase(context.env);
  } catch (err) {
    throw new CliFailure(`cannot open the database: ${firstLine(err)}`);
  }
  try {
    const report = await replayDatabase(db, { rebuild });
    if (context.json(cmd)) {
      printJson({
        ok: report.ok,
        flows: report.snapshots.flows,
        events: report.snapshots.events,
        mismatches: report.snapshots.mismatches.map((m) => m.flowId),
        ...(report.views ? { views: report.views } : {}),
        ...(report.rebuiltFrom !== undefined ? { rebuilt_from_events: report.rebuiltFrom } : {}),
      });
    } else {
      for (const line of describeReplay(report)) print(line);
    }
    if (!report.ok) throw new CliFailure(rebuild ? 'views rebuilt, but some snapshots do not match their journal' : 'the journal does not reproduce the stored state');
  } finally {
    await db.destroy();
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}
