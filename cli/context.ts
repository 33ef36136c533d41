import type { Command } from 'commander';
import { OperatorApi } from './remote';

/** What a command needs from the program around it: its global options, read at run time. */
export interface CommandContext {
  /** The operator API of the instance named by --url / ISSUANCE_URL, with the operator token. */
  api(cmd: Command, options?: { requireToken?: boolean }): OperatorApi;
  /** Whether --json was given. */
  json(cmd: Command): boolean;
  env: NodeJS.ProcessEnv;
}

export function commandContext(env: NodeJS.ProcessEnv): CommandContext {
  return {
    env,
    api: (cmd, options = {}) => {
      const o = cmd.optsWithGlobals();
      return OperatorApi.from({ url: o.url, tokenFile: o.tokenFile }, env, options.requireToken ?? true);
    },
    json: (cmd) => Boolean(cmd.optsWithGlobals().json),
  };
}
