import { MINT_FLOW_PREFIX } from '../core/flow-ids';
import type { Knex } from 'knex';
import { iso } from '../core/clock';
import type { Database } from './database';
import { readJson } from './database';
import { recordEntityEvent } from './entity-journal';
import type { StoredFlow } from './flow-definition';
import { tagPattern } from './flow-tags';
import { fromFlowRow } from './flow-store';

/** Which flows an operator asks for; every field narrows the list. */
export interface FlowFilter {
  type?: string;
  /** A state name, or a parent state: its substates are listed with it. */
  state?: string;
  /** Flows whose state carries this tag. */
  tag?: string;
  /** Token or underlying symbol, any case. */
  asset?: string;
  needsOperator?: boolean;
  /** Active flows with no event since this instant. */
  stuckSince?: string;
  createdAtOrBefore?: string;
  createdAtOrAfter?: string;
  /** The page after this position (the last row of the previous page). */
  after?: { updatedAt: string; flowId: string };
  limit: number;
}

/** An outbox row as the operator sees it. */
export interface OperatorEffect {
  effect_id: string;
  flow_id: string;
  type: string;
  status: string;
  attempts: number | string;
  next_attempt_at: number | string;
  lease_until: number | string;
  last_error: string | null;
  issued_in: string | null;
  params: unknown;
  created_at: string;
  updated_at: string;
}

export interface FlowTimer {
  sendId: string;
  dueAt: number;
  event: unknown;
}

export interface HeldReceipt {
  vault_address: string;
  receipt_id: string;
  network: string;
  token_symbol: string;
  shares_minted: string;
  shares_remaining: string;
  minted_by: string;
  tx_hash: string;
}

/** What an operator made due: the effect as it was, who did it and why. */
export interface MadeDue {
  effect: OperatorEffect;
  flowId: string;
  operator: string;
  note?: string;
  /** The effect's new last error (the operator's annotation). */
  lastError: string;
  now: number;
  correlationId?: string;
}

/**
 * The operator endpoints' reads (flows, their effects and timers, receipts) and their one write,
 * bringing a pending effect forward.
 */
export class OperatorStore {
  constructor(
    private readonly db: Database,
    /** Mint flow ids are the mint view's tokenization request id behind this prefix. */
  ) {}

  /** Newest activity first; one row more than `limit` tells the caller another page follows. */
  async listFlows(f: FlowFilter): Promise<{ flows: StoredFlow[]; more: boolean }> {
    const rows = this.db('flows')
      .select('flow_id', 'flow_type', 'state', 'status', 'needs_operator', 'tags', 'seq', 'snapshot', 'machine_version', 'created_at', 'updated_at')
      .orderBy([{ column: 'updated_at', order: 'desc' }, { column: 'flow_id', order: 'desc' }])
      .limit(f.limit + 1);
    if (f.type) rows.where({ flow_type: f.type });
    if (f.state) {
      const parent = `${f.state}.`;
      // substr, not LIKE: a state name is matched as text, with no wildcard in it.
      rows.where((w) => w.where({ state: f.state }).orWhereRaw(`substr(state, 1, ${parent.length}) = ?`, [parent]));
    }
    if (f.tag) rows.where('tags', 'like', tagPattern(f.tag));
    if (f.asset) rows.whereIn('flow_id', this.flowsOfAsset(f.asset));
    if (f.needsOperator !== undefined) rows.where({ needs_operator: f.needsOperator });
    if (f.stuckSince) rows.where({ status: 'active' }).andWhere('updated_at', '<', f.stuckSince);
    if (f.createdAtOrBefore) rows.where('created_at', '<=', f.createdAtOrBefore);
    if (f.createdAtOrAfter) rows.where('created_at', '>=', f.createdAtOrAfter);
    if (f.after) {
      const c = f.after;
      rows.where((w) => w.where('updated_at', '<', c.updatedAt).orWhere((x) => x.where('updated_at', c.updatedAt).andWhere('flow_id', '<', c.flowId)));
    }
    const found: any[] = await rows;
    return { flows: found.slice(0, f.limit).map(fromFlowRow), more: found.length > f.limit };
  }

  /** Flow ids whose asset is `symbol` (token or underlying, any case), from the mint and redemption views. */
  private flowsOfAsset(symbol: string): Knex.QueryBuilder {
    const s = symbol.toLowerCase();
    const matches = (b: Knex.QueryBuilder) => b.whereRaw('lower(token_symbol) = ?', [s]).orWhereRaw('lower(underlying_symbol) = ?', [s]);
    const mintIds = this.db('mint_view').select(this.db.raw(`'${MINT_FLOW_PREFIX}' || tokenization_request_id`)).where(matches);
    return this.db('redemption_view').select('flow_id').where(matches).union(mintIds);
  }

  async effectsOf(flowId: string): Promise<OperatorEffect[]> {
    const rows = await this.db('outbox').where({ flow_id: flowId }).orderBy('created_at');
    return rows.map(effectOf);
  }

  async timersOf(flowId: string): Promise<FlowTimer[]> {
    const rows = await this.db('timers').where({ flow_id: flowId }).orderBy('due_at');
    return rows.map((t: any) => ({ sendId: t.send_id, dueAt: Number(t.due_at), event: readJson(t.event) }));
  }

  async effect(effectId: string, flowId?: string): Promise<OperatorEffect | undefined> {
    const row = await this.db('outbox').where({ effect_id: effectId, ...(flowId ? { flow_id: flowId } : {}) }).first();
    return row ? effectOf(row) : undefined;
  }

  /** The latest effects with this status, newest first. */
  async effectsWithStatus(status: string, limit: number): Promise<OperatorEffect[]> {
    const rows = await this.db('outbox').where({ status }).orderBy('created_at', 'desc').limit(limit);
    return rows.map(effectOf);
  }

  /**
   * Makes a pending effect due now, unless it changed since it was read (another attempt, a lease), and
   * journals `effect.made_due` of the entity `effect:<effectId>` in the same transaction. False, with
   * nothing written, when the effect changed.
   */
  async makeEffectDue(m: MadeDue): Promise<boolean> {
    const e = m.effect;
    return this.db.transaction(async (trx) => {
      const updated = await trx('outbox')
        .where({ effect_id: e.effect_id, status: 'pending', next_attempt_at: e.next_attempt_at })
        .andWhere('lease_until', '<=', m.now)
        .update({ next_attempt_at: m.now, last_error: m.lastError.slice(0, 500), updated_at: iso(m.now) });
      if (updated !== 1) return false;
      await recordEntityEvent(
        trx,
        { type: 'effect', id: e.effect_id },
        {
          type: 'effect.made_due',
          payload: { flowId: m.flowId, effectId: e.effect_id, effectType: e.type, attempts: Number(e.attempts), wasDueAt: iso(Number(e.next_attempt_at)), operator: m.operator, ...(m.note ? { note: m.note } : {}) },
        },
        iso(m.now),
        m.correlationId,
      );
      return true;
    });
  }

  /** The receipts we hold, by vault, oldest first. */
  async heldReceipts(): Promise<HeldReceipt[]> {
    const rows = await this.db('receipt_inventory').orderBy(['vault_address', 'created_at']);
    return rows.map((r: any) => ({ vault_address: r.vault_address, receipt_id: r.receipt_id, network: r.network, token_symbol: r.token_symbol, shares_minted: r.shares_minted, shares_remaining: r.shares_remaining, minted_by: r.minted_by, tx_hash: r.tx_hash }));
  }
}

function effectOf(r: any): OperatorEffect {
  return {
    effect_id: r.effect_id,
    flow_id: r.flow_id,
    type: r.type,
    status: r.status,
    attempts: r.attempts,
    next_attempt_at: r.next_attempt_at,
    lease_until: r.lease_until,
    last_error: r.last_error,
    issued_in: r.issued_in,
    params: r.params,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}
