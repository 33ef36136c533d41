import { Command, CommanderError } from 'commander';
import { auditCommands } from './commands/audit';
import { reconcileCommand } from './commands/reconcile';
import { controlsCommands } from './commands/controls';
import { effectCommands } from './commands/effects';
import { flowCommands } from './commands/flows';
import { healthCommand } from './commands/health';
import { keystoreCommands } from './commands/keystore';
import { localCommands } from './commands/local';
import { receiptCommands } from './commands/receipts';
import { commandContext } from './context';
import { CliFailure, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, oneLine } from './errors';
import { DEFAULT_URL } from './remote';

/**
 * `issuance-bot`: the operations tool for an issuer's ops team. Remote commands talk to a running
 * instance's operator API; `replay verify`, `views rebuild` and `keystore create` work on local files.
 */
export function buildProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('issuance-bot')
    .description('operate an issuance-bot instance: flows, effects, receipts, journal checks, keystore')
    .option('--json', 'print JSON instead of tables')
    .option('--url <url>', `instance base URL (env ISSUANCE_URL, default ${DEFAULT_URL})`)
    .option('--token-file <file>', 'file holding the operator token (else env ISSUANCE_OPERATOR_TOKEN)')
    .exitOverride();
  const context = commandContext(env);
  flowCommands(program, context);
  effectCommands(program, context);
  receiptCommands(program, context);
  localCommands(program, context);
  keystoreCommands(program, context);
  healthCommand(program, context);
  reconcileCommand(program, context);
  auditCommands(program, context);
  controlsCommands(program, context);
  // Every subcommand throws instead of exiting, so run() decides the exit code.
  const overrideAll = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(overrideAll);
  };
  overrideAll(program);
  return program;
}

/** Runs one command line; answers the exit code (0 done, 1 failed, 2 bad usage). */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const program = buildProgram(env);
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (err) {
    // Commander has already printed its own message (unknown option, missing argument, help).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (err instanceof CliFailure) {
      process.stderr.write(`error: ${oneLine(err.message)}\n`);
      return err.exitCode;
    }
    process.stderr.write(`error: ${oneLine(String((err as Error)?.message ?? err))}\n`);
    return EXIT_FAILURE;
  }
}

if (require.main === module) {
  void run(process.argv).then((code) => {
    process.exitCode = code;
  });
}
