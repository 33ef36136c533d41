import type { Knex } from 'knex';
import type { FlowDefinition } from './flow-definition';
import { fromFlowRow } from './flow-host';

export interface RestoreSummary {
  active: number;
  needsOperator: number;
  pendingEffects: number;
  pendingTimers: number;
}

/**
 * Start-up check of every active flow: each must have been stored by this build's machine version and
 * must resolve against it, or the service refuses to start (README: machine versions).
 */
export async function restoreActiveFlows(db: Knex, definition: (flowType: string) => FlowDefinition): Promise<RestoreSummary> {
  const rows = await db('flows').where({ status: 'active' });
  let needsOperator = 0;
  for (const row of rows) {
    const flow = fromFlowRow(row);
    const def = definition(flow.flowType);
    if (flow.machineVersion !== def.version) {
      throw new Error(`Flow ${flow.flowId} was stored by ${flow.machineVersion}; this build runs ${def.version}. Migrate persisted flows first (README: machine versions).`);
    }
    def.machine.resolveState(flow.snapshot as any);
    if (flow.needsOperator) needsOperator++;
  }
  const [effects] = await db('outbox').where({ status: 'pending' }).count({ n: '*' });
  const [timers] = await db('timers').count({ n: '*' });
  return { active: rows.length, needsOperator, pendingEffects: Number(effects?.n ?? 0), pendingTimers: Number(timers?.n ?? 0) };
}
