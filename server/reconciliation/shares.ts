import { fromBaseUnits, toBaseUnits } from '../../core/amounts';

/**
 * Reconciliation adds up shares held at Alpaca (decimal strings) and tokens on several networks
 * (base units of each token's decimals). Everything is brought to one exact scale first: 36 decimal
 * places, the most a registered asset may have, so no conversion ever rounds.
 */
export const SHARE_DECIMALS = 36;

/** A token amount in its base units → scaled shares. */
export function unitsToScaled(units: bigint, decimals: number): bigint {
  return units * 10n ** BigInt(SHARE_DECIMALS - decimals);
}

/** A signed decimal string of shares (Alpaca's `qty`, a configured tolerance) → scaled shares. */
export function sharesToScaled(qty: string): bigint {
  const negative = qty.startsWith('-');
  const value = toBaseUnits(negative ? qty.slice(1) : qty, SHARE_DECIMALS);
  return negative ? -value : value;
}

/** Scaled shares → the shortest signed decimal string. */
export function formatScaled(value: bigint): string {
  return value < 0n ? `-${fromBaseUnits(-value, SHARE_DECIMALS)}` : fromBaseUnits(value, SHARE_DECIMALS);
}

/** Scaled shares as a float, for a Prometheus gauge only (never for a decision). */
export function scaledToNumber(value: bigint): number {
  return Number(formatScaled(value));
}
