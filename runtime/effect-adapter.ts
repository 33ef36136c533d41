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
export interface EffectAdapter<P = any> {
  /** Performs the effect and returns the event that reports its result to the flow (or none). */
  run(params: P, ctx: EffectContext): Promise<FlowEvent | undefined>;
  retry: BackoffPolicy;
  /** The event that tells the flow the effect has failed for good (attempts spent or a permanent error). */
  failed(error: Error, ctx: EffectContext, params: P): FlowEvent;
  /** Signs or broadcasts a chain transaction (a rebroadcast included): such effects wait while issuance is paused. */
  sendsTransactions?: boolean;
}

export type EffectAdapters = Record<string, EffectAdapter>;
