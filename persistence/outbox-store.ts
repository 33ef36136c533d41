import { iso } from '../core/clock';
import { newId } from '../core/ids';
import type { Database } from './database';
import { insertAppendOnly } from './group-commit';
import { asTx, knexOf, type Tx } from './transaction';

/** An effect a machine asked for, as the runner picks it up. */
export interface PendingEffect {
  effectId: string;
  flowId: string;
  type: string;
  /** As stored (JSON text on SQLite, parsed on PostgreSQL): read with `readJson` when the effect runs. */
  params: unknown;
}

/** Where an effect ended: `done` (or `failed`) with the error kept as evidence. */
export type EffectOutcome = 'done' | 'failed';

const ERROR_CHARS = 500;

/**
 * The `outbox` table: effects issued by a flow's commit and performed after it. A row is pending until
 * it is closed; a runner leases it (`lease_until`) while it runs, so two instances never run it at once.
 */
export class OutboxStore {
  constructor(private readonly db: Database) {}

  /**
   * Issues an effect in the event's commit. Nothing in the commit reads it back, so a group-commit batch
   * writes all its effects in one multi-row insert.
   */
  async issue(tx: Tx, effect: { flowId: string; type: string; params: unknown; causedBy: string; issuedIn: string }, nowMs: number): Promise<void> {
    await insertAppendOnly(knexOf(tx), 'outbox', {
      effect_id: newId(),
      flow_id: effect.flowId,
      type: effect.type,
      params: JSON.stringify(effect.params),
      status: 'pending',
      attempts: 0,
      next_attempt_at: nowMs,
      lease_until: 0,
      caused_by: effect.causedBy,
      issued_in: effect.issuedIn,
      created_at: iso(nowMs),
      updated_at: iso(nowMs),
    });
  }

  /** Cancels the flow's effects not yet performed that were issued in a state other than `state`. */
  async supersede(tx: Tx, flowId: string, state: string, nowMs: number): Promise<void> {
    await knexOf(tx)('outbox')
      .where({ flow_id: flowId, status: 'pending' })
      .andWhere('issued_in', '<>', state)
      .update({ status: 'cancelled', last_error: `superseded: the flow moved on to ${state}`, updated_at: iso(nowMs) });
  }

  /** Pending effects due now and not leased, oldest first, skipping the `held` types (of one flow, if given). */
  async due(options: { nowMs: number; limit: number; held: string[]; flowId?: string }): Promise<PendingEffect[]> {
    const { nowMs, flowId } = options;
    const query = this.db('outbox')
      .where(flowId ? { status: 'pending', flow_id: flowId } : { status: 'pending' })
      .andWhere('next_attempt_at', '<=', nowMs)
      .andWhere('lease_until', '<=', nowMs)
      .orderBy('created_at')
      .limit(options.limit);
    // Filtered in the query, not after it: held rows must not fill the batch and starve the others.
    if (options.held.length) query.whereNotIn('type', options.held);
    const rows = await query;
    return rows.map((r: any) => ({ effectId: r.effect_id, flowId: r.flow_id, type: r.type, params: r.params }));
  }

  /**
   * Leases the effects still pending and unleased until `leaseUntil`, counting an attempt on each, in one
   * statement; returns the attempt number of each effect won. One another instance leased first is absent.
   */
  async claim(effectIds: string[], nowMs: number, leaseUntil: number): Promise<Map<string, number>> {
    const won: Array<{ effect_id: string; attempts: number }> = await this.db('outbox')
      .whereIn('effect_id', effectIds)
      .andWhere({ status: 'pending' })
      .andWhere('lease_until', '<=', nowMs)
      .update({ lease_until: leaseUntil, attempts: this.db.raw('?? + 1', ['attempts']), updated_at: iso(nowMs) }, ['effect_id', 'attempts']);
    return new Map(won.map((w) => [w.effect_id, Number(w.attempts)]));
  }

  /** Extends the lease of a running effect; one released for a retry stays released. */
  async renewLease(effectId: string, leaseUntil: number): Promise<void> {
    await this.db('outbox')
      .where({ effect_id: effectId, status: 'pending' })
      .andWhere('lease_until', '>', 0)
      .update({ lease_until: leaseUntil });
  }

  /** Releases the effect's lease and sets when it runs again, keeping the error that made it wait. */
  async scheduleRetry(effectId: string, nextAttemptAt: number, error: string, nowMs: number): Promise<void> {
    await this.db('outbox')
      .where({ effect_id: effectId })
      .update({ lease_until: 0, next_attempt_at: nextAttemptAt, last_error: error.slice(0, ERROR_CHARS), updated_at: iso(nowMs) });
  }

  /** Closes the effect in `tx`, so its result event and its closing commit together. */
  async close(tx: Tx, effectId: string, outcome: EffectOutcome, error: string | null, nowMs: number): Promise<void> {
    await knexOf(tx)('outbox')
      .where({ effect_id: effectId })
      .update({ status: outcome, lease_until: 0, last_error: error?.slice(0, ERROR_CHARS) ?? null, updated_at: iso(nowMs) });
  }

  /** Closes the effect on its own, for an effect with no result event to send (or one the flow refused). */
  closeAlone(effectId: string, outcome: EffectOutcome, error: string | null, nowMs: number): Promise<void> {
    return this.db.transaction((trx) => this.close(asTx(trx), effectId, outcome, error, nowMs));
  }

  /** Releases every lease on pending effects (a process alone on its database, after a crash); returns how many. */
  async releaseLeases(): Promise<number> {
    return this.db('outbox').where({ status: 'pending' }).andWhere('lease_until', '>', 0).update({ lease_until: 0 });
  }

  /** How many effects are pending. */
  async pendingCount(): Promise<number> {
    const [row] = await this.db('outbox').where({ status: 'pending' }).count({ n: '*' });
    return Number(row?.n ?? 0);
  }
}
