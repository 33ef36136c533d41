import type { Knex } from 'knex';
import type { JournalEntry } from '../journal';

/** The journal entity type of control changes: `controls:global` (the pause) and `controls:asset:<id>` (limits). */
export const CONTROLS_ENTITY = 'controls';
export const CONTROLS_VIEWS = ['risk_controls'];

export const GLOBAL_SCOPE = 'global';
export const assetScope = (assetId: string) => `asset:${assetId}`;

/** An asset's limits, as quantities of the underlying; null is no limit. */
export interface AssetLimits {
  maxRequestQty: string | null;
  dailyMintCap: string | null;
  dailyRedemptionCap: string | null;
  approvalThreshold: string | null;
}
export type LimitName = keyof AssetLimits;

export const LIMIT_COLUMNS: Record<LimitName, string> = {
  maxRequestQty: 'max_request_qty',
  dailyMintCap: 'daily_mint_cap',
  dailyRedemptionCap: 'daily_redemption_cap',
  approvalThreshold: 'approval_threshold',
};
export const LIMIT_NAMES = Object.keys(LIMIT_COLUMNS) as LimitName[];

/** Applies one control change to `risk_controls`. Used live and by the rebuild, so both give the same rows. */
export async function projectControlsEvent(trx: Knex.Transaction, e: JournalEntry): Promise<void> {
  const p = e.payload as Record<string, any>;
  const who = { updated_by: typeof p.operator === 'string' ? p.operator : null, updated_at: e.recordedAt };
  switch (e.type) {
    case 'controls.paused':
    case 'controls.resumed': {
      const row = { paused: e.type === 'controls.paused', pause_reason: e.type === 'controls.paused' ? p.reason : null, ...who };
      await trx('risk_controls').insert({ scope: GLOBAL_SCOPE, asset_id: null, ...row }).onConflict('scope').merge(Object.keys(row));
      return;
    }
    case 'controls.limits_set': {
      const changes: Record<string, string | null> = {};
      for (const name of LIMIT_NAMES) if (name in p.changes) changes[LIMIT_COLUMNS[name]] = p.changes[name];
      const row = { ...changes, ...who };
      await trx('risk_controls').insert({ scope: assetScope(p.assetId), asset_id: p.assetId, paused: false, ...row }).onConflict('scope').merge(Object.keys(row));
      return;
    }
    default:
      throw new Error(`No projection for control event ${e.type}`);
  }
}
