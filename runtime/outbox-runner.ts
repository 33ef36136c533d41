import type { Logger } from 'pino';
import { type Database, readJson } from '../persistence/database';
import { type EffectOutcome, OutboxStore, type PendingEffect } from '../persistence/outbox-store';
import { backoffDelay } from './backoff';
import type { Clock } from '../core/clock';
import { type EffectAdapters, type EffectContext, PermanentEffectError } from './effect-adapter';
import { EventNotAcceptedError } from '../core/errors';
import type { FlowEvent } from '../persistence/flow-definition';
import type { FlowHost } from './flow-host';
import { failpoint } from '../core/failpoints';
import { loggableError, sanitized } from '../core/safe-error';
import { PollLoop } from './poll-loop';

export interface OutboxRunnerOptions {
  pollMs?: number;
  leaseMs?: number;
  batchSize?: number;
  /**
   * This process is the only runner on the database (SQLite): leases left by a crashed predecessor are
   * released at start instead of waiting for them to expire. With several instances (PostgreSQL) leave
   * it off; leases then expire after `leaseMs`.
   */
  exclusive?: boolean;
  observer?: EffectObserver;
  /**
   * Whether effects that send chain transactions must wait (an emergency pause). Asked on every look
   * at the outbox, so every instance on the database obeys a pause at its next poll; an effect
   * already running when the pause lands finishes.
   */
  transactionsHeld?: () => Promise<boolean>;
}

/** Told about every effect attempt (metrics); must not throw. */
export interface EffectObserver {
  attempted(attempt: { type: string; outcome: 'succeeded' | 'retrying' | 'failed'; durationMs: number }): void;
}

/**
 * Performs the effects the machines asked for, after their commit. A row is leased while it runs; its
 * result event and the row's `done` mark commit together, so a crash re-runs at most an idempotent effect.
 */
export class OutboxRunner {
  private running = new Set<string>();
  private busyFlows = new Set<string>();
  private readonly outbox: OutboxStore;
  private readonly loop: PollLoop;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly exclusive: boolean;
  private readonly observer: EffectObserver | undefined;
  private readonly transactionsHeld: (() => Promise<boolean>) | undefined;
  /** Effect types that send chain transactions (held back by a pause). */
  private readonly transactionTypes: string[];
  private holding = false;

  constructor(
    db: Database,
    private readonly host: FlowHost,
    private readonly adapters: EffectAdapters,
    private readonly clock: Clock,
    private readonly log: Logger,
    options: OutboxRunnerOptions = {},
  ) {
    const pollMs = options.pollMs ?? 250;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.batchSize = options.batchSize ?? 100;
    this.exclusive = options.exclusive ?? false;
    this.observer = options.observer;
    this.transactionsHeld = options.transactionsHeld;
    this.transactionTypes = Object.entries(adapters)
      .filter(([, adapter]) => adapter.sendsTransactions)
      .map(([type]) => type);
    this.outbox = new OutboxStore(db);
    this.loop = new PollLoop(
      async () => {
        const rows = await this.dueRows();
        void (await this.claim(rows));
      },
      {
        intervalMs: pollMs,
        // A failed look at the outbox is retried at the next poll, not later: effects wait on it.
        maxBackoffMs: pollMs,
        onError: (err) => this.log.error({ error: loggableError(err) }, 'outbox poll failed'),
      },
    );
  }

  async start(): Promise<void> {
    if (this.exclusive) {
      const released = await this.outbox.releaseLeases();
      if (released) this.log.info({ released }, 'released leases left by the previous process');
    }
    this.loop.start(0);
  }

  /** Stops polling and waits for the look under way and every effect running. */
  async stop(): Promise<void> {
    await this.loop.stop();
    while (this.running.size > 0) await new Promise((r) => setTimeout(r, 10));
  }

  /** Something was committed: look at the outbox now rather than at the next poll. */
  kick(): void {
    this.loop.kick();
  }

  /** Runs every due effect (of one flow, if given) once and waits for them; tests drive the runner with this. */
  async drain(flowId?: string): Promise<number> {
    const rows = await this.dueRows(flowId);
    await Promise.all(await this.claim(rows));
    return rows.length;
  }

  private async dueRows(flowId?: string): Promise<PendingEffect[]> {
    const nowMs = this.clock.now();
    const held = await this.heldTypes();
    const rows = await this.outbox.due({ nowMs, limit: this.batchSize, held, flowId });
    // One effect per flow at a time: a flow's effects are ordered by its machine.
    const picked: PendingEffect[] = [];
    for (const row of rows) {
      if (this.running.has(row.effectId) || this.busyFlows.has(row.flowId)) continue;
      if (picked.some((p) => p.flowId === row.flowId)) continue;
      picked.push(row);
    }
    return picked;
  }

  /** The effect types that must wait now; the pause's start and end are logged once each. */
  private async heldTypes(): Promise<string[]> {
    if (!this.transactionsHeld || this.transactionTypes.length === 0) return [];
    const holding = await this.transactionsHeld();
    if (holding !== this.holding) this.log.warn({ effects: this.transactionTypes }, holding ? 'issuance paused: chain transactions wait' : 'issuance resumed: chain transactions run again');
    this.holding = holding;
    return holding ? this.transactionTypes : [];
  }

  /**
   * Leases every picked row with one statement (one commit, not one per row) and starts the ones this
   * instance won; returns their runs. A row another instance leased first is left to it.
   */
  private async claim(rows: PendingEffect[]): Promise<Promise<void>[]> {
    const picked = rows.filter((r) => !this.running.has(r.effectId));
    if (picked.length === 0) return [];
    for (const row of picked) {
      this.running.add(row.effectId);
      this.busyFlows.add(row.flowId);
    }
    let claimed: Map<string, number>;
    try {
      const now = this.clock.now();
      claimed = await this.outbox.claim(picked.map((r) => r.effectId), now, now + this.leaseMs);
    } catch (err) {
      this.log.error({ error: loggableError(err) }, 'outbox claim failed');
      claimed = new Map();
    }
    const runs: Promise<void>[] = [];
    for (const row of picked) {
      const attempt = claimed.get(row.effectId);
      if (attempt === undefined) this.release(row);
      else runs.push(this.runClaimed(row, attempt));
    }
    return runs;
  }

  private release(row: PendingEffect): void {
    this.running.delete(row.effectId);
    this.busyFlows.delete(row.flowId);
  }

  private async runClaimed(row: PendingEffect, attempt: number): Promise<void> {
    const effectId = row.effectId;
    try {
      // Keep the lease while the effect runs, so a short lease (fast take-over of a dead instance's
      // work) never hands a live effect to a second instance.
      const renewal = setInterval(() => {
        void this.outbox.renewLease(effectId, this.clock.now() + this.leaseMs).catch(() => undefined);
      }, Math.max(100, Math.floor(this.leaseMs / 3)));
      try {
        await this.perform(row, attempt);
      } finally {
        clearInterval(renewal);
      }
    } catch (err) {
      this.log.error({ error: loggableError(err), effectId }, 'outbox row failed unexpectedly');
    } finally {
      this.release(row);
    }
  }

  private async perform(row: PendingEffect, attempt: number): Promise<void> {
    const adapter = this.adapters[row.type];
    const ctx: EffectContext = { effectId: row.effectId, flowId: row.flowId, attempt };
    const params = readJson<Record<string, unknown>>(row.params);
    if (!adapter) {
      await this.finish(row, 'failed', `no adapter for effect ${row.type}`);
      this.log.error({ effectId: row.effectId, type: row.type }, 'no adapter for effect; row parked as failed');
      return;
    }
    let result: FlowEvent | undefined;
    const started = performance.now();
    const observe = (outcome: 'succeeded' | 'retrying' | 'failed') => {
      try {
        this.observer?.attempted({ type: row.type, outcome, durationMs: performance.now() - started });
      } catch {
        // observers must not break effects
      }
    };
    try {
      await failpoint(`outbox.before.${row.type}`);
      this.log.debug({ effectId: row.effectId, flowId: row.flowId, type: row.type, attempt }, 'effect started');
      result = await adapter.run(params, ctx);
      observe('succeeded');
      this.log.info({ effectId: row.effectId, flowId: row.flowId, type: row.type, attempt, result: result?.type, ms: Math.round(performance.now() - started) }, 'effect succeeded');
    } catch (err) {
      const error = sanitized(err instanceof Error ? err : new Error(String(err)));
      const permanent = error instanceof PermanentEffectError;
      observe(!permanent && attempt < adapter.retry.maxAttempts ? 'retrying' : 'failed');
      if (!permanent && attempt < adapter.retry.maxAttempts) {
        const delay = backoffDelay(adapter.retry, attempt);
        await this.outbox.scheduleRetry(row.effectId, this.clock.now() + delay, error.message, this.clock.now());
        this.log.warn({ effectId: row.effectId, flowId: row.flowId, type: row.type, attempt, retryInMs: delay, error: error.message }, 'effect failed; will retry');
        return;
      }
      this.log.error({ effectId: row.effectId, flowId: row.flowId, type: row.type, attempt, error: error.message }, 'effect failed for good');
      await this.report(row, adapter.failed(error, ctx, params), 'failed', error.message);
      return;
    }
    await failpoint(`outbox.after.${row.type}`);
    await this.report(row, result, 'done', null);
  }

  /** Feeds the result to the flow and closes the row in the same transaction. */
  private async report(row: PendingEffect, event: FlowEvent | undefined, status: EffectOutcome, error: string | null): Promise<void> {
    if (!event) return this.finish(row, status, error);
    try {
      await this.host.send(row.flowId, event, {
        causationId: row.effectId,
        within: (tx) => this.outbox.close(tx, row.effectId, status, error, this.clock.now()),
      });
    } catch (err) {
      if (!(err instanceof EventNotAcceptedError)) throw err;
      // The flow moved on (an operator acted, or a duplicate result): keep the row as evidence.
      this.log.warn({ effectId: row.effectId, event: event.type, state: err.details?.state }, 'effect result not accepted by flow');
      await this.finish(row, status === 'done' ? 'done' : 'failed', `result ${event.type} not accepted in state ${String(err.details?.state)}`);
    }
  }

  private finish(row: PendingEffect, status: EffectOutcome, error: string | null): Promise<void> {
    return this.outbox.closeAlone(row.effectId, status, error, this.clock.now());
  }
}
