import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import type { JournalEntry } from './journal';
import type { FlowDefinition } from './flow-definition';
import { FLOW_STARTED, type FlowEvent } from './flow-definition';

/** Applies one journal entry to a flow's snapshot, exactly as the host did when it was recorded. */
export function applyEntry(def: FlowDefinition, snapshot: AnyMachineSnapshot | undefined, entry: JournalEntry): AnyMachineSnapshot {
  if (entry.type === FLOW_STARTED) {
    if (snapshot) throw new Error(`${entry.flowId}: second ${FLOW_STARTED} at seq ${entry.seq}`);
    return initialTransition(def.machine, (entry.payload as { input: unknown }).input)[0];
  }
  if (!snapshot) throw new Error(`${entry.flowId}: journal does not begin with ${FLOW_STARTED}`);
  return transition(def.machine, snapshot, entry.payload as FlowEvent)[0];
}
