import type { Command } from 'commander';
import { CliFailure } from '../errors';
import { parseDuration, parseInstant, parseOperatorEvent, parsePositiveInt } from '../options';
import { compact, print, printJson, record, table, truncate, when } from '../output';
import { type OperatorApi, flowPath } from '../remote';
import type { CommandContext } from '../context';

interface FlowRow {
  flow_id: string;
  flow_type: string;
  state: string;
  status: string;
  needs_operator: boolean;
  seq: number;
  underlying_symbol: string | null;
  token_symbol: string | null;
  qty: string | null;
  failure: string | null;
  created_at: string;
  updated_at: string;
}

/** Context fields that are configuration, not facts about this request. */
const QUIET_CONTEXT = /Ms$|^requestHash$|^decimals$/;

export function flowCommands(program: Command, context: CommandContext): void {
  const flows = program.command('flows').description('list, inspect and resume mint and redemption flows');

  flows
    .command('list')
    .description('list flows, newest activity first')
    .option('--type <type>', 'flow type (mint, redemption)')
    .option('--state <state>', 'state name, or a parent state (minting)')
    .option('--asset <symbol>', 'token or underlying symbol (tAAPL, AAPL)')
    .option('--older-than <duration>', 'created at least this long ago (90, 15m, 2h, 3d)', parseDuration)
    .option('--since <time>', 'created at or after this ISO 8601 time', parseInstant)
    .option('--stuck [minutes]', 'not final and no event for this many minutes (default 30)', parsePositiveInt(525_600))
    .option('--needs-operator', 'only flows waiting for an operator')
    .option('--limit <n>', 'at most this many (1-500, default 100)', parsePositiveInt(500))
    .option('--cursor <cursor>', 'the page after the one that printed this cursor')
    .action(async (o, cmd: Command) => {
      const api = context.api(cmd);
      const res = await api.get<{ flows: FlowRow[]; next_cursor: string | null }>('/operator/flows', {
        type: o.type,
        state: o.state,
        asset: o.asset,
        older_than: o.olderThan,
        since: o.since,
        stuck: o.stuck === undefined ? undefined : true,
        stuck_minutes: typeof o.stuck === 'number' ? o.stuck : undefined,
        needs_operator: o.needsOperator ? true : undefined,
        limit: o.limit,
        cursor: o.cursor,
      });
      if (context.json(cmd)) return printJson(res);
      print(
        table(
          ['flow', 'type', 'state', 'operator?', 'asset', 'qty', 'created (UTC)', 'updated (UTC)'],
          res.flows.map((f) => [f.flow_id, f.flow_type, f.state, f.needs_operator ? 'yes' : '', f.token_symbol ?? '', f.qty ?? '', when(f.created_at), when(f.updated_at)]),
        ),
      );
      print(`${res.flows.length} flow${res.flows.length === 1 ? '' : 's'}${res.next_cursor ? `; more with --cursor ${res.next_cursor}` : ''}`);
    });

  flows
    .command('show <flowId>')
    .description('state, context, journal timeline, effects and timers of one flow')
    .action(async (flowId: string, _o, cmd: Command) => {
      const detail = await context.api(cmd).get(flowPath(flowId));
      if (context.json(cmd)) return printJson(detail);
      print(renderFlow(detail));
    });

  flows
    .command('send')
    .description('send an OPERATOR_* event to a flow (journaled under your operator id)')
    .argument('<flowId>')
    .argument('<event>', 'OPERATOR_CLOSE, OPERATOR_RETRY, OPERATOR_RETRY_MINT, …', parseOperatorEvent)
    .option('--note <text>', 'why, kept in the journal with the event')
    .action(async (flowId: string, event: string, o, cmd: Command) => {
      await sendEvent(context, cmd, flowId, event, o.note);
    });

  flows
    .command('close <flowId>')
    .description('close a flow that waits for an operator (OPERATOR_CLOSE), where its state allows it')
    .option('--note <text>', 'why, kept in the journal with the event')
    .action(async (flowId: string, o, cmd: Command) => {
      const event = await pickEvent(context.api(cmd), flowId, (t) => t === 'OPERATOR_CLOSE', 'close');
      await sendEvent(context, cmd, flowId, event, o.note);
    });

  flows
    .command('retry <flowId>')
    .description("retry a flow that waits for an operator, with the OPERATOR_RETRY* event its state takes")
    .option('--note <text>', 'why, kept in the journal with the event')
    .action(async (flowId: string, o, cmd: Command) => {
      const event = await pickEvent(context.api(cmd), flowId, (t) => t.startsWith('OPERATOR_RETRY'), 'retry');
      await sendEvent(context, cmd, flowId, event, o.note);
    });
}

/** The one operator event of this kind the flow's current state takes (mint: RETRY_MINT or RETRY_CALLBACK; redemption: RETRY). */
async function pickEvent(api: OperatorApi, flowId: string, wanted: (type: string) => boolean, verb: string): Promise<string> {
  const detail = await api.get<{ flow: { state: string; flowType: string }; operator_events: string[]; outbox: Array<{ effect_id: string; type: string; in_backoff: boolean }> }>(flowPath(flowId));
  const candidates = detail.operator_events.filter(wanted);
  const accepted = detail.operator_events.length ? `it takes ${detail.operator_events.join(', ')}` : 'it takes no operator event';
  if (candidates.length === 0) {
    // A flow still retrying on its own is brought forward through its effect, not through the machine.
    const waiting = verb === 'retry' ? detail.outbox.find((e) => e.in_backoff) : undefined;
    const hint = waiting ? `; its ${waiting.type} effect is in backoff: effects retry ${flowId} ${waiting.effect_id}` : '';
    throw new CliFailure(`cannot ${verb} ${flowId}: ${detail.flow.flowType} flow in state ${detail.flow.state}; ${accepted}${hint}`);
  }
  if (candidates.length > 1) throw new CliFailure(`${flowId} in state ${detail.flow.state} takes ${candidates.join(' and ')}; choose one with: flows send ${flowId} <event>`);
  return candidates[0]!;
}

async function sendEvent(context: CommandContext, cmd: Command, flowId: string, type: string, note: string | undefined): Promise<void> {
  const res = await context.api(cmd).post<{ flow: { state: string; status: string; needsOperator: boolean } }>(`${flowPath(flowId)}/events`, note === undefined ? { type } : { type, note });
  if (context.json(cmd)) return printJson({ event: type, ...res });
  print(`${flowId}: ${type} accepted; now ${res.flow.state}${res.flow.needsOperator ? ' (needs operator)' : ''}${res.flow.status === 'done' ? ' (final)' : ''}`);
}

function renderFlow(d: any): string {
  const f = d.flow;
  const c = (f.snapshot?.context ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  out.push(
    record([
      ['flow', f.flowId],
      ['type', `${f.flowType} (${f.machineVersion})`],
      ['state', `${f.state}${f.needsOperator ? '  [needs operator]' : ''}`],
      ['status', f.status],
      ['events', f.seq],
      ['created', when(f.createdAt)],
      ['updated', when(f.updatedAt)],
      ['operator events', d.operator_events.length ? d.operator_events.join(', ') : null],
      ['failure', c.failure ? compact(c.failure, 200) : undefined],
    ]),
  );
  const facts = Object.entries(c).filter(([k, v]) => k !== 'failure' && !QUIET_CONTEXT.test(k) && v !== undefined && v !== null);
  out.push('', 'context', record(facts.map(([k, v]) => [`  ${k}`, compact(v, 100)])));
  out.push(
    '',
    'timeline',
    table(
      ['seq', 'recorded (UTC)', 'event', 'by', 'details', 'correlation'],
      d.timeline.map((e: any) => [e.seq, when(e.recorded_at), e.type, e.operator ?? (e.causation_id ? `effect ${e.causation_id}` : ''), e.type === 'flow.started' ? '' : compact(withoutOperator(e.payload), 60), truncate(e.correlation_id ?? '', 40)]),
    ),
  );
  out.push(
    '',
    'effects',
    d.outbox.length
      ? table(
          ['effect', 'type', 'status', 'attempts', 'next attempt (UTC)', 'last error'],
          d.outbox.map((e: any) => [e.effect_id, e.type, e.running ? 'running' : e.in_backoff ? 'backoff' : e.status, e.attempts, e.status === 'pending' ? when(e.next_attempt_at) : '', truncate(e.last_error ?? '', 60)]),
        )
      : '  none',
  );
  out.push('', 'timers', d.timers.length ? table(['timer', 'due (UTC)', 'event'], d.timers.map((t: any) => [t.send_id, when(t.due_at), t.event?.type ?? ''])) : '  none');
  return out.join('\n');
}

function withoutOperator(payload: Record<string, unknown>): Record<string, unknown> | undefined {
  const { operator: _operator, ...rest } = payload;
  return Object.keys(rest).length ? rest : undefined;
}
