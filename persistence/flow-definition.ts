import type { Knex } from 'knex';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import type { DomainError } from '../core/errors';

/** An event as the host and the journal carry it (each machine's own union narrows it). */
export interface FlowEvent {
  type: string;
  [key: string]: unknown;
}

/** The journal type of a flow's first row, whose payload holds the machine's input. */
export const FLOW_STARTED = 'flow.started';

/** A flow as stored: the persisted snapshot and where it stands. */
export interface StoredFlow {
  flowId: string;
  flowType: string;
  seq: number;
  state: string;
  status: 'active' | 'done' | 'error' | 'stopped';
  needsOperator: boolean;
  /** The tags of the current state (machines/tags.ts): what other code may know of where the flow stands. */
  tags: string[];
  snapshot: { value: unknown; context: any; status: string };
  machineVersion: string;
  createdAt: string;
  updatedAt: string;
}

/** How the host runs one kind of flow. */
export interface FlowDefinition {
  type: string;
  machine: AnyStateMachine;
  /** Stored with every snapshot and journal row; bump it when a change would strand persisted flows. */
  version: string;
  /** Keeps this flow type's view rows in step; runs inside the event's transaction and during rebuilds. */
  project?: (trx: Knex.Transaction, flow: StoredFlow, recordedAt: string) => Promise<void>;
  /** View tables this definition writes, truncated before a rebuild. */
  views?: string[];
  /**
   * Why the current state refuses an event, when the machine's own refusal would say too little (an
   * approval by the operator who already approved). Undefined: the generic `event_not_accepted`.
   */
  explainRefusal?: (snapshot: AnyMachineSnapshot, event: { type: string; [key: string]: unknown }) => DomainError | undefined;
}

/** States tagged with this need a person: they are listed on the operator endpoints. */
export const NEEDS_OPERATOR_TAG = 'needsOperator';

export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  const parts: string[] = [];
  let v: unknown = value;
  while (v && typeof v === 'object') {
    const [k, child] = Object.entries(v as Record<string, unknown>)[0] ?? [];
    if (k === undefined) break;
    parts.push(k);
    v = child;
  }
  if (typeof v === 'string') parts.push(v);
  return parts.join('.');
}
