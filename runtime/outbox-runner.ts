import { knexOf } from '../persistence/transaction';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { readJson } from '../persistence/database';
import { backoffDelay } from './backoff';
import { type Clock, iso } from '../core/clock';
import { type EffectAdapters, type EffectContext, PermanentEffectError } from './effect-adapter';
import { EventNotAcceptedError } from '../core/errors';
import type { FlowEvent } from '../persistence/flow-definition';
import type { FlowHost } from './flow-host';
import { failpoint } from '../core/failpoints';
import { loggableError, sanitized } from '../core/safe-error';

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
  private timer: NodeJS.Timeout | undefined;
  private running = new Set<string>();
  private busyFlows = new Set<string>();
  private stopped = true;
  private ticking = false;
  private rerun = false;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly exclusive: boolean;
  private readonly observer: EffectObserver | undefined;
  private readonly transactionsHeld: (() => Promise<boolean>) | undefined;
  /** Effect types that send chain transactions (held back by a pause). */
  private readonly transactionTypes: string[];
  private holding = false;

  constructor(
    private readonly db: Knex,
    private readonly host: FlowHost,
    private readonly adapters: EffectAdapters,
    private readonly clock: Clock,
    private readonly log: Logger,
    options: OutboxRunnerOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 250;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.batchSize = options.batchSize ?? 100;
    this.exclusive = options.exclusive ?? false;
    this.observer = options.observer;
    this.transactionsHeld = options.transactionsHeld;
    this.transactionTypes = Object.entries(adapters)
      .filter(([, adapter]) => adapter.sendsTransactions)
      .map(([type]) => type);
  }

  async start(): Promise<void> {
    if (this.exclusive) {
      const released = await this.db('outbox').where({ status: 'pending' }).andWhere('lease_until', '>', 0).update({ lease_until: 0 });
      if (released) this.log.info({ released }, 'released leases left by the previous process');
    }
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.running.size > 0 || this.ticking) await new Promise((r) => setTimeout(r, 10));
  }

  /** Something was committed: look at the outbox now rather than at the next poll. */
  kick(): void {
    if (this.stopped) return;
    if (this.ticking) this.rerun = true;
    else this.schedule(0);
  }

  /** Runs every due effect (of one flow, if given) once and waits for them; tests drive the runner with this. */
  async drain(flowId?: string): Promise<number> {
    const rows = await this.dueRows(flowId);
    await Promise.all(await this.claim(rows));
    return rows.length;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    this.ticking = true;
    try {
      const rows = await this.dueRows();
      void (await this.claim(rows));
    } catch (err) {
      this.log.error({ error: loggableError(err) }, 'outbox poll failed');
    } finally {
      this.ticking = false;
      const again = this.rerun;
      this.rerun = false;
      this.schedule(again ? 0 : this.pollMs);
    }
  }

  private async dueRows(flowId?: string): Promise<any[]> {
    const now = this.clock.now();
    const held = await this.heldTypes();
    const query = this.db('outbox')
      .where(flowId ? { status: 'pending', flow_id: flowId } : { status: 'pending' })
      .andWhere('next_attempt_at', '<=', now)
      .andWhere('lease_until', '<=', now)
      .orderBy('created_at')
      .limit(this.batchSize);
    // Filtered in the query, not after it: held rows must not fill the batch and starve the others.
    if (held.length) query.whereNotIn('type', held);
    const rows = await query;
    // One effect per flow at a time: a flow's effects are ordered by its machine.
    const picked: any[] = [];
    for (const row of rows) {
      if (this.running.has(row.effect_id) || this.busyFlows.has(row.flow_id)) continue;
      if (picked.some((p) => p.flow_id === row.flow_id)) continue;
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
  private async claim(rows: any[]): Promise<Promise<void>[]> {
    const picked = rows.filter((r) => !this.running.has(r.effect_id));
    if (picked.length === 0) return [];
    for (const row of picked) {
      this.running.add(row.effect_id);
      this.busyFlows.add(row.flow_id);
    }
    let claimed: Map<string, number>;
    try {
      const now = this.clock.now();
      const won: Array<{ effect_id: string; attempts: number }> = await this.db('outbox')
        .whereIn('effect_id', picked.map((r) => r.effect_id))
        .andWhere({ status: 'pending' })
        .andWhere('lease_until', '<=', now)
        .update({ lease_until: now + this.leaseMs, attempts: this.db.raw('?? + 1', ['attempts']), updated_at: iso(now) }, ['effect_id', 'attempts']);
      claimed = new Map(won.map((w) => [w.effect_id, Number(w.attempts)]));
    } catch (err) {
      this.log.error({ error: loggableError(err) }, 'outbox claim failed');
      claimed = new Map();
    }
    const runs: Promise<void>[] = [];
    for (const row of picked) {
      const attempt = claimed.get(row.effect_id);
      if (attempt === undefined) this.release(row);
      else runs.push(this.runClaimed(row, attempt));
    }
    return runs;
  }

  private release(row: any): void {
    this.running.delete(row.effect_id);
    this.busyFlows.delete(row.flow_id);
  }

  private async runClaimed(row: any, attempt: number): Promise<void> {
    const effectId: string = row.effect_id;
    try {
      // Keep the lease while the effect runs, so a short lease (fast take-over of a dead instance's
      // work) never hands a live effect to a second instance.
      const renewal = setInterval(() => {
        void this.db('outbox')
          .where({ effect_id: effectId, status: 'pending' })
          .andWhere('lease_until', '>', 0) // released (a retry is scheduled): leave it released
          .update({ lease_until: this.clock.now() + this.leaseMs })
          .catch(() => undefined);
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

  private async perform(row: any, attempt: number): Promise<void> {
    const adapter = this.adapters[row.type];
    const ctx: EffectContext = { effectId: row.effect_id, flowId: row.flow_id, attempt };
    const params = readJson<Record<string, unknown>>(row.params);
    if (!adapter) {
      await this.finish(row, 'failed', `no adapter for effect ${row.type}`);
      this.log.error({ effectId: row.effect_id, type: row.type }, 'no adapter for effect; row parked as failed');
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
      this.log.debug({ effectId: row.effect_id, flowId: row.flow_id, type: row.type, attempt }, 'effect started');
      result = await adapter.run(params, ctx);
      observe('succeeded');
      this.log.info({ effectId: row.effect_id, flowId: row.flow_id, type: row.type, attempt, result: result?.type, ms: Math.round(performance.now() - started) }, 'effect succeeded');
    } catch (err) {
      const error = sanitized(err instanceof Error ? err : new Error(String(err)));
      const permanent = error instanceof PermanentEffectError;
      observe(!permanent && attempt < adapter.retry.maxAttempts ? 'retrying' : 'failed');
      if (!permanent && attempt < adapter.retry.maxAttempts) {
        const delay = backoffDelay(adapter.retry, attempt);
        await this.db('outbox')
          .where({ effect_id: row.effect_id })
          .update({ lease_until: 0, next_attempt_at: this.clock.now() + delay, last_error: error.message.slice(0, 500), updated_at: iso(this.clock.now()) });
        this.log.warn({ effectId: row.effect_id, flowId: row.flow_id, type: row.type, attempt, retryInMs: delay, error: error.message }, 'effect failed; will retry');
        return;
      }
      this.log.error({ effectId: row.effect_id, flowId: row.flow_id, type: row.type, attempt, error: error.message }, 'effect failed for good');
      await this.report(row, adapter.failed(error, ctx, params), 'failed', error.message);
      return;
    }
    await failpoint(`outbox.after.${row.type}`);
    await this.report(row, result, 'done', null);
  }

  /** Feeds the result to the flow and closes the row in the same transaction. */
  private async report(row: any, event: FlowEvent | undefined, status: 'done' | 'failed', error: string | null): Promise<void> {
    if (!event) return this.finish(row, status, error);
    try {
      await this.host.send(row.flow_id, event, {
        causationId: row.effect_id,
        within: (tx) => this.close(knexOf(tx), row.effect_id, status, error),
      });
    } catch (err) {
      if (!(err instanceof EventNotAcceptedError)) throw err;
      // The flow moved on (an operator acted, or a duplicate result): keep the row as evidence.
      this.log.warn({ effectId: row.effect_id, event: event.type, state: err.details?.state }, 'effect result not accepted by flow');
      await this.finish(row, status === 'done' ? 'done' : 'failed', `result ${event.type} not accepted in state ${String(err.details?.state)}`);
    }
  }

  private finish(row: any, status: 'done' | 'failed', error: string | null): Promise<void> {
    return this.db.transaction((trx) => this.close(trx, row.effect_id, status, error));
  }

  private async close(trx: Knex.Transaction, effectId: string, status: string, error: string | null): Promise<void> {
    await trx('outbox').where({ effect_id: effectId }).update({ status, lease_until: 0, last_error: error?.slice(0, 500) ?? null, updated_at: iso(this.clock.now()) });
  }
}
