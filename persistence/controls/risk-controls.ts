import type { Knex } from 'knex';
import { type Clock, iso } from '../../core/clock';
import { lockEntity } from '../entity-lock';
import { recordEntityEvent } from '../entity-journal';
import { AssetNotFoundError } from '../registry/assets';
import { knexOf, type Tx } from '../transaction';
import { type AssetKey, mintedOn, type UtcDay } from './daily-usage';
import { type AssetLimits, assetScope, CONTROLS_ENTITY, GLOBAL_SCOPE, LIMIT_COLUMNS, LIMIT_NAMES } from './projection';

export interface PauseState {
  paused: boolean;
  reason: string | null;
  /** Who made the last change to the pause (paused or resumed it), and when. */
  changedBy: string | null;
  changedAt: string | null;
}

export interface AssetControls extends AssetLimits {
  assetId: string;
  updatedBy: string | null;
  updatedAt: string | null;
}

export const NO_LIMITS: AssetLimits = { maxRequestQty: null, dailyMintCap: null, dailyRedemptionCap: null, approvalThreshold: null };

/** Serializes whatever reads or changes one scope's controls inside a transaction: the same lock the entity journal takes for that scope. */
export function lockScope(trx: Knex.Transaction, scope: string): Promise<void> {
  return lockEntity(trx, `${CONTROLS_ENTITY}:${scope}`);
}

/** Whether issuance is paused: read from the database each time, so every instance sees one answer. */
export async function issuancePaused(db: Knex | Knex.Transaction): Promise<boolean> {
  const row = await db('risk_controls').where({ scope: GLOBAL_SCOPE }).first('paused');
  return Boolean(row?.paused);
}

/**
 * The operators' risk controls: the emergency pause and each asset's limits. Every change is a
 * journal event carrying the operator, projected into `risk_controls` in the same transaction; a
 * change that changes nothing writes nothing.
 */
export class RiskControls {
  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
  ) {}

  async pauseState(db: Knex | Knex.Transaction = this.db): Promise<PauseState> {
    const row = await db('risk_controls').where({ scope: GLOBAL_SCOPE }).first();
    return { paused: Boolean(row?.paused), reason: row?.pause_reason ?? null, changedBy: row?.updated_by ?? null, changedAt: row?.updated_at ?? null };
  }

  /** The pause and one asset's limits in one read (the accepting transaction's check). */
  async pausedAndLimits(assetId: string, db: Knex | Knex.Transaction = this.db): Promise<{ paused: boolean; limits: AssetControls }> {
    const rows: any[] = await db('risk_controls').whereIn('scope', [GLOBAL_SCOPE, assetScope(assetId)]);
    const global = rows.find((r) => r.scope === GLOBAL_SCOPE);
    return { paused: Boolean(global?.paused), limits: toControls(assetId, rows.find((r) => r.scope !== GLOBAL_SCOPE)) };
  }

  async limits(assetId: string, db: Knex | Knex.Transaction = this.db): Promise<AssetControls> {
    return toControls(assetId, await db('risk_controls').where({ scope: assetScope(assetId) }).first());
  }

  /** Whether issuance is paused, read on this store's handle (a mint request's early check uses the read pool). */
  isPaused(): Promise<boolean> {
    return issuancePaused(this.db);
  }

  /**
   * The pause and one asset's limits as the transaction accepting a mint sees them. When the asset has
   * a daily mint cap its controls are locked first and the limits read again, so two requests cannot
   * both take the last of it; without one, accepts of an asset run in parallel. Paused: no lock.
   */
  async limitsForAccept(tx: Tx, assetId: string): Promise<{ paused: boolean; limits: AssetControls }> {
    const trx = knexOf(tx);
    const now = await this.pausedAndLimits(assetId, trx);
    if (now.paused || now.limits.dailyMintCap === null) return now;
    await lockScope(trx, assetScope(assetId));
    return { paused: false, limits: await this.limits(assetId, trx) };
  }

  /** The asset's mints counted against its daily mint cap for `day`, read in the accepting transaction (after `limitsForAccept` locked them). */
  mintedOn(tx: Tx, asset: AssetKey, day: UtcDay): Promise<bigint> {
    return mintedOn(knexOf(tx), asset, day);
  }

  /** Limits of every asset that has any row (assets never given a limit have none). */
  async allLimits(): Promise<Map<string, AssetControls>> {
    const rows = await this.db('risk_controls').whereNot({ scope: GLOBAL_SCOPE });
    return new Map(rows.map((r: any) => [r.asset_id, toControls(r.asset_id, r)]));
  }

  /** Stops new mints and every chain transaction until resumed. Pausing a paused issuer changes nothing. */
  pause(reason: string, operator: string, correlationId?: string): Promise<{ changed: boolean; state: PauseState }> {
    return this.changePause(true, { reason, operator }, correlationId);
  }

  resume(operator: string, note: string | undefined, correlationId?: string): Promise<{ changed: boolean; state: PauseState }> {
    return this.changePause(false, { operator, ...(note ? { note } : {}) }, correlationId);
  }

  /** Sets the given limits of one asset (null lifts one); the event records the values before and after. */
  async setLimits(assetId: string, wanted: Partial<AssetLimits>, operator: string, correlationId?: string): Promise<{ changed: boolean; controls: AssetControls }> {
    const scope = assetScope(assetId);
    let changed = false;
    await this.db.transaction(async (trx) => {
      await lockScope(trx, scope);
      if (!(await trx('tokenized_assets').where({ asset_id: assetId }).first('asset_id'))) throw new AssetNotFoundError(assetId);
      const current = await this.limits(assetId, trx);
      const changes: Partial<AssetLimits> = {};
      const previous: Partial<AssetLimits> = {};
      for (const name of LIMIT_NAMES) {
        const value = wanted[name];
        if (value === undefined || value === current[name]) continue;
        changes[name] = value;
        previous[name] = current[name];
      }
      if (Object.keys(changes).length === 0) return;
      changed = true;
      await recordEntityEvent(trx, { type: CONTROLS_ENTITY, id: scope }, { type: 'controls.limits_set', payload: { assetId, changes, previous, operator } }, iso(this.clock.now()), correlationId);
    });
    return { changed, controls: await this.limits(assetId) };
  }

  private async changePause(paused: boolean, payload: Record<string, unknown>, correlationId?: string): Promise<{ changed: boolean; state: PauseState }> {
    let changed = false;
    await this.db.transaction(async (trx) => {
      await lockScope(trx, GLOBAL_SCOPE);
      if ((await issuancePaused(trx)) === paused) return;
      changed = true;
      await recordEntityEvent(trx, { type: CONTROLS_ENTITY, id: GLOBAL_SCOPE }, { type: paused ? 'controls.paused' : 'controls.resumed', payload }, iso(this.clock.now()), correlationId);
    });
    return { changed, state: await this.pauseState() };
  }
}

function toControls(assetId: string, row: any): AssetControls {
  const limits = { ...NO_LIMITS };
  for (const name of LIMIT_NAMES) limits[name] = row?.[LIMIT_COLUMNS[name]] ?? null;
  return { assetId, ...limits, updatedBy: row?.updated_by ?? null, updatedAt: row?.updated_at ?? null };
}
