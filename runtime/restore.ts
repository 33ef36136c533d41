import type { FlowDefinition } from '../persistence/flow-definition';
import type { FlowStore } from '../persistence/flow-store';
import type { OutboxStore } from '../persistence/outbox-store';
import type { TimerStore } from '../persistence/timer-store';

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
 * value's state nodes and carries context, history and status over as they are. So the flow store groups
 * the active flows by type, machine version and state value in the database (a snapshot that is not
 * JSON fails the query, and start-up with it), and each group is checked once: every flow is checked,
 * without shipping thousands of snapshots to JavaScript to parse.
 */
export async function restoreActiveFlows(
  stores: { flows: FlowStore; outbox: OutboxStore; timers: TimerStore },
  definition: (flowType: string) => FlowDefinition,
): Promise<RestoreSummary> {
  const groups = await stores.flows.activeGroups();
  let active = 0;
  let needsOperator = 0;
  for (const g of groups) {
    const def = definition(g.flowType);
    if (g.machineVersion !== def.version) {
      throw new Error(`Flow ${g.example} was stored by ${g.machineVersion}; this build runs ${def.version}. Migrate persisted flows first (README: machine versions).`);
    }
    try {
      def.machine.resolveState({ value: g.stateValue === null ? undefined : JSON.parse(g.stateValue) } as any);
    } catch (err) {
      throw new Error(`Flows of type ${g.flowType} in state ${g.stateValue} (e.g. ${g.example}, ${g.flows} in all) do not resolve against ${def.version}: ${err instanceof Error ? err.message : String(err)}`);
    }
    active += g.flows;
    needsOperator += g.needsOperator;
  }
  return { active, needsOperator, pendingEffects: await stores.outbox.pendingCount(), pendingTimers: await stores.timers.count() };
}
