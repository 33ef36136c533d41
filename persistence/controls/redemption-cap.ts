import type { Knex } from 'knex';
import type { Clock } from '../../core/clock';
import { type AssetKey, redeemedOn, utcDay } from './daily-usage';
import { billionths, quantityOf } from '../../core/quantities';
import { RiskControls } from './risk-controls';

/**
 * Whether a detected transfer would take its asset's redemptions of the UTC day over the daily
 * redemption cap: the cap and what was already redeemed that day if so (the redemption flow holds it
 * for an operator), else null. Only the transfer poller starts redemptions, one at a time, so the
 * sum cannot race another redemption of the same asset.
 */
export async function redemptionOverDailyCap(db: Knex, clock: Clock, asset: AssetKey & { assetId: string }, qty: string): Promise<{ cap: string; redeemedToday: string } | null> {
  const { dailyRedemptionCap: cap } = await new RiskControls(db, clock).limits(asset.assetId);
  if (cap === null) return null;
  const redeemed = await redeemedOn(db, asset, utcDay(clock.now()));
  return redeemed + billionths(qty) > billionths(cap) ? { cap, redeemedToday: quantityOf(redeemed) } : null;
}
