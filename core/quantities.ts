import { ALPACA_DECIMALS, fromBaseUnits, toBaseUnits } from './amounts';

/**
 * Limits and the quantities they bound are Alpaca quantities (decimal strings, at most 9 places);
 * they are summed and compared exactly, as whole billionths, never as floats.
 */
export const billionths = (qty: string): bigint => toBaseUnits(qty, ALPACA_DECIMALS);

export const quantityOf = (units: bigint): string => fromBaseUnits(units, ALPACA_DECIMALS);

export const sumQuantities = (quantities: string[]): bigint => quantities.reduce((total, q) => total + billionths(q), 0n);
