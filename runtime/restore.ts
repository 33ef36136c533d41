import type { Knex } from 'knex';
import { isPostgres } from '../persistence/database';
import type { FlowDefinition } from '../persistence/flow-definition';

export interface RestoreSummary {
  active: number;
  needsOperator: number;
  pendingEffects: number;
  pendingTimers: number;
}

/**
 * Start-up check of every active flow: each must have been stored by this build's machine version and
 * must resolve against it, or the service refuses to start (README: machine versions).
 *
 * Whether a snapshot resolves depends only on its state value: XState's `resolveState` looks up the
 * value's state nodes and carries context, history and status over as they are. So the database groups
 * the active flows by type, machine version and state value (reading each snapshot's value out of its
 * JSON; a snapshot that is not JSON fails the query, and start-up with it), and each group is checked
 * once: every flow is checked, without shipping thousands of snapshots to JavaScript to parse.
 */
export async function restoreActiveFlows(db: Knex, definition: (flowType: string) => FlowDefinition): Promise<RestoreSummary> {
  // The value as JSON text: `->` keeps strings quoted on SQLite; jsonb gives PostgreSQL one text per value.
  const stateValue = isPostgres(db) ? `(snapshot::jsonb -> 'value')::text` : `snapshot -> '$.value'`;
  const groups: Array<{ flow_type: string; machine_version: string; state_value: string | null; flows: number | string; needs_operator: number | string | null; example: string }> = await db('flows')
    .where({ status: 'active' })
    .select(
      'flow_type',
      'machine_version',
      db.raw(`${stateValue} as state_value`),
      db.raw('count(*) as flows'),
      db.raw('sum(case when needs_operator then 1 else 0 end) as needs_operator'),
      db.raw('min(flow_id) as example'),
    )
    .groupByRaw('1, 2, 3');
  let active = 0;
  let needsOperator = 0;
  for (const g of groups) {
    const def = definition(g.flow_type);
    if (g.machine_version !== def.version) {
      throw new Error(`Flow ${g.example} was stored by ${g.machine_version}; this build runs ${def.version}. Migrate persisted flows first (README: machine versions).`);
    }
    try {
      def.machine.resolveState({ value: g.state_value === null ? undefined : JSON.parse(g.state_value) } as any);
    } catch (err) {
      throw new Error(`Flows of type ${g.flow_type} in state ${g.state_value} (e.g. ${g.example}, ${g.flows} in all) do not resolve against ${def.version}: ${err instanceof Error ? err.message : String(err)}`);
    }
    active += Number(g.flows);
    needsOperator += Number(g.needs_operator ?? 0);
  }
  const [effects] = await db('outbox').where({ status: 'pending' }).count({ n: '*' });
  const [timers] = await db('timers').count({ n: '*' });
  return { active, needsOperator, pendingEffects: Number(effects?.n ?? 0), pendingTimers: Number(timers?.n ?? 0) };
}
