import { MINT_FLOW_PREFIX } from '../../core/flow-ids';
import type { Knex } from 'knex';
import { sumQuantities } from '../../core/quantities';
import { TAGS } from '../../machines/tags';
import { tagPattern } from '../flow-tags';

/** One UTC calendar day: the daily caps reset at 00:00 UTC. Bounds are ISO strings, as `created_at` is stored. */
export interface UtcDay {
  date: string;
  start: string;
  end: string;
}

const DAY_MS = 86_400_000;

export function utcDay(nowMs: number): UtcDay {
  const startMs = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const start = new Date(startMs).toISOString();
  return { date: start.slice(0, 10), start, end: new Date(startMs + DAY_MS).toISOString() };
}

export interface AssetKey {
  tokenSymbol: string;
  network: string;
}

/**
 * A mint's flow is `mint:` + its tokenization request id (the mint routes' flow id); mint_view has no
 * flow_id column, so the count joins flows on that.
 */
const MINT_FLOW_JOIN = `flows.flow_id = '${MINT_FLOW_PREFIX}' || mint_view.tokenization_request_id`;

/** The quantity of the asset's mints accepted during `day` (in billionths), abandoned ones (that will never mint) aside. */
export function mintedOn(db: Knex | Knex.Transaction, asset: AssetKey, day: UtcDay): Promise<bigint> {
  return quantityOn(db, 'mint_view', asset, day, (q) => q.joinRaw(`join flows on ${MINT_FLOW_JOIN}`).whereNot('flows.tags', 'like', tagPattern(TAGS.mintAbandoned)));
}

/**
 * The quantity of the asset's redemptions detected during `day` (in billionths) that Alpaca was asked
 * to redeem: held, rejected, returned or reorganised-away ones aside (a held one an operator releases
 * counts from then on); a closed one counts only if Alpaca took it.
 */
export function redeemedOn(db: Knex | Knex.Transaction, asset: AssetKey, day: UtcDay): Promise<bigint> {
  return quantityOn(db, 'redemption_view', asset, day, (q) =>
    q
      .join('flows', 'flows.flow_id', 'redemption_view.flow_id')
      .whereNot('flows.tags', 'like', tagPattern(TAGS.redeemNotRequested))
      .andWhere((w) => w.whereNot('flows.tags', 'like', tagPattern(TAGS.redeemClosed)).orWhereNotNull('redemption_view.tokenization_request_id')),
  );
}

/** The summed `qty` of a flow view's rows for the asset created during `day`, narrowed to the flows that count. */
async function quantityOn(db: Knex | Knex.Transaction, view: 'mint_view' | 'redemption_view', asset: AssetKey, day: UtcDay, counted: (q: Knex.QueryBuilder) => Knex.QueryBuilder): Promise<bigint> {
  const rows = await counted(
    db(view)
      .where({ [`${view}.token_symbol`]: asset.tokenSymbol, [`${view}.network`]: asset.network })
      .andWhere(`${view}.created_at`, '>=', day.start)
      .andWhere(`${view}.created_at`, '<', day.end),
  ).select(`${view}.qty`);
  return sumQuantities(rows.map((r: any) => String(r.qty)));
}
