import type { Command } from 'commander';
import { CliFailure } from '../errors';
import { print, printJson, record } from '../output';
import type { CommandContext } from '../context';

export function healthCommand(program: Command, context: CommandContext): void {
  program
    .command('health')
    .description('is the instance up and its database reachable (and, with a token, how many flows wait for an operator)')
    .action(async (_o, cmd: Command) => {
      const api = context.api(cmd, { requireToken: false });
      const live = await api.probe('/health/live');
      const ready = await api.probe('/health/ready');
      let waiting: string | undefined;
      if (api.hasToken) {
        const res = await api.get<{ flows: unknown[]; next_cursor: string | null }>('/operator/flows', { needs_operator: true, limit: 500 });
        waiting = `${res.flows.length}${res.next_cursor ? '+' : ''}`;
      }
      const ok = live.status === 200 && ready.status === 200;
      const result = { url: api.baseUrl, live: live.status === 200, ready: ready.status === 200, mode: live.body?.mode ?? null, needs_operator: waiting ?? null };
      if (context.json(cmd)) printJson(result);
      else print(record([['url', api.baseUrl], ['mode', result.mode], ['live', result.live ? 'ok' : `no (${live.status})`], ['ready', result.ready ? 'ok (database reachable)' : `no (${ready.status} ${ready.body?.code ?? ''})`], ['needs operator', waiting ?? undefined]]));
      if (!ok) throw new CliFailure(`${api.baseUrl} is not ready`);
    });
}
