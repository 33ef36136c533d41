/** Exit codes: 0 success, 1 the thing asked for failed, 2 the command line itself was wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The command ran but what it asked for did not happen (refused, unreachable, mismatches found). */
export class CliFailure extends Error {
  readonly exitCode: number = EXIT_FAILURE;
}

/** The command line was wrong: a bad option value, a missing credential, input the service refused as invalid. */
export class UsageError extends CliFailure {
  override readonly exitCode = EXIT_USAGE;
}

/** One line for stderr: never a stack, never a second line. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
