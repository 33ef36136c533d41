import type { AnyStateMachine, EventFromLogic, StateMachine } from 'xstate';
import type { BackoffPolicy } from './backoff';
import type { FlowEvent } from '../persistence/flow-definition';

export interface EffectContext {
  /** The outbox row id: pass it on as the idempotency key of whatever the effect does. */
  effectId: string;
  flowId: string;
  attempt: number;
}

/** A failure that retrying will not fix (a 4xx from Alpaca, a reverted transaction). */
export class PermanentEffectError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

/** How the outbox runner performs one kind of effect a machine asks for. */
export interface EffectAdapter<P = any, E extends { type: string } = FlowEvent> {
  // Function properties, not methods: their params are then checked strictly, not bivariantly.
  /** Performs the effect and returns the event that reports its result to the flow (or none). */
  run: (params: P, ctx: EffectContext) => Promise<E | undefined>;
  retry: BackoffPolicy;
  /** The event that tells the flow the effect has failed for good (attempts spent or a permanent error). */
  failed: (error: Error, ctx: EffectContext, params: P) => E;
  /** Signs or broadcasts a chain transaction (a rebroadcast included): such effects wait while issuance is paused. */
  sendsTransactions?: boolean;
}

/** Any flow's adapters, as the outbox runner holds them (keyed by effect action name). */
export type EffectAdapters = Record<string, EffectAdapter>;

/** The actions a machine was set up with (`setup({ actions })`), as `{ type, params }` objects. */
type MachineActions<M extends AnyStateMachine> =
  M extends StateMachine<any, any, any, any, infer TAction, any, any, any, any, any, any, any, any, any, any> ? TAction : never;

/** The params machine `M` gives its action `K`. */
export type ActionParams<M extends AnyStateMachine, K extends string> = Extract<MachineActions<M>, { type: K }>['params'];

/**
 * The adapters machine `M` needs for its effect actions `K`: one per name, taking that action's
 * params and answering with the machine's own events. A missing, misnamed or mistyped adapter does
 * not compile.
 */
export type MachineEffectAdapters<M extends AnyStateMachine, K extends string> = {
  [N in K]: EffectAdapter<ActionParams<M, N>, EventFromLogic<M>>;
};
