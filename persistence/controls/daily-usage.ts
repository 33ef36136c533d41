import type { Knex } from 'knex';
import { sumQuantities } from '../../core/quantities';

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

/** Mints that will never mint: they do not count against the daily mint cap. */
const MINTS_NOT_COUNTED = ['journalRejected', 'rejectedByOperator', 'closedByOperator'];

/** The quantity of the asset's mints accepted during `day` (in billionths), rejected ones aside. */
export function mintedOn(db: Knex | Knex.Transaction, asset: AssetKey, day: UtcDay): Promise<bigint> {
  return quantityOn(db, 'mint_view', asset, day, (q) => q.whereNotIn('state', MINTS_NOT_COUNTED));
}

/**
 * Redemptions Alpaca has not been asked for (held for an operator before the call, rejected by
 * Alpaca, returned to the sender, gone in a reorg): they do not count against the daily redemption
 * cap. A held one an operator releases counts from then on. A closed one counts only if Alpaca took it.
 */
const REDEMPTIONS_NOT_COUNTED = ['reappearedAfterReorg', 'unknownSender', 'belowAlpacaPrecision', 'assetHalted', 'dailyCapExceeded', 'alpacaRejected', 'returningTokens', 'returnFailed', 'returnedToSender', 'withdrawnByReorg'];

/** The quantity of the asset's redemptions detected during `day` (in billionths) that Alpaca was asked to redeem. */
export function redeemedOn(db: Knex | Knex.Transaction, asset: AssetKey, day: UtcDay): Promise<bigint> {
  return quantityOn(db, 'redemption_view', asset, day, (q) =>
    q.whereNotIn('state', REDEMPTIONS_NOT_COUNTED).andWhere((w) => w.whereNot('state', 'closedByOperator').orWhereNotNull('tokenization_request_id')),
  );
}

/** The summed `qty` of a flow view's rows for the asset created during `day`, narrowed to the flows that count. */
async function quantityOn(db: Knex | Knex.Transaction, view: 'mint_view' | 'redemption_view', asset: AssetKey, day: UtcDay, counted: (q: Knex.QueryBuilder) => Knex.QueryBuilder): Promise<bigint> {
  const rows = await counted(
    db(view).where({ token_symbol: asset.tokenSymbol, network: asset.network }).andWhere('created_at', '>=', day.start).andWhere('created_at', '<', day.end),
  ).select('qty');
  return sumQuantities(rows.map((r: any) => String(r.qty)));
}
