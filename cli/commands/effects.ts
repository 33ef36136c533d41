import { type Command, Option } from 'commander';
import { print, printJson, table, truncate, when } from '../output';
import { flowPath } from '../remote';
import type { CommandContext } from '../context';

export function effectCommands(program: Command, context: CommandContext): void {
  const effects = program.command('effects').description('effects (outbox rows) the flows asked for');

  effects
    .command('list')
    .description('effects by status (default: failed)')
    .addOption(new Option('--status <status>', 'which effects').choices(['pending', 'done', 'failed', 'cancelled']).default('failed'))
    .action(async (o, cmd: Command) => {
      const res = await context.api(cmd).get<{ effects: any[] }>('/operator/outbox', { status: o.status });
      if (context.json(cmd)) return printJson(res);
      print(table(['effect', 'flow', 'type', 'attempts', 'next attempt (UTC)', 'last error'], res.effects.map((e) => [e.effect_id, e.flow_id, e.type, e.attempts, o.status === 'pending' ? when(e.next_attempt_at) : '', truncate(e.last_error ?? '', 60)])));
      print(`${res.effects.length} ${o.status} effect${res.effects.length === 1 ? '' : 's'}`);
    });

  effects
    .command('retry')
    .description('run a pending effect now instead of at the end of its backoff (a failed one is retried through its flow: flows retry)')
    .argument('<flowId>')
    .argument('<effectId>')
    .option('--note <text>', 'why, kept on the effect and in the service log')
    .action(async (flowId: string, effectId: string, o, cmd: Command) => {
      const res = await context.api(cmd).post(`${flowPath(flowId)}/effects/${encodeURIComponent(effectId)}/retry`, o.note === undefined ? {} : { note: o.note });
      if (context.json(cmd)) return printJson(res);
      const e = res.effect;
      print(
        res.outcome === 'made_due'
          ? `${e.effect_id} (${e.type}) made due now by ${res.operator}; ${e.attempts} attempt${e.attempts === 1 ? '' : 's'} so far`
          : `${e.effect_id} (${e.type}) was already due; the service runs it on its next look at the outbox`,
      );
    });
}
