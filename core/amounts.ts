/**
 * Quantities cross the boundary as decimal strings (Alpaca: at most 9 decimal places) and live on
 * chain as bigint base units. Conversions are exact string/bigint arithmetic, never floats.
 */
export const ALPACA_DECIMALS = 9;

const DECIMAL = /^(0|[1-9]\d*)(\.\d+)?$/;

/** `qty` × 10^decimals exactly; throws when qty has more fractional digits than the token can hold. */
export function toBaseUnits(qty: string, decimals: number): bigint {
  const m = DECIMAL.exec(qty);
  if (!m) throw new RangeError(`not a non-negative decimal string: ${JSON.stringify(qty)}`);
  const whole = m[1]!;
  const fraction = (m[2] ?? '').slice(1);
  if (fraction.length > decimals) throw new RangeError(`${qty} has more than ${decimals} decimal places`);
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
}

/** The shortest decimal string for `units` base units (no trailing zeros). */
export function fromBaseUnits(units: bigint, decimals: number): string {
  if (units < 0n) throw new RangeError('negative amount');
  const scale = 10n ** BigInt(decimals);
  const whole = units / scale;
  const fraction = (units % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole.toString();
}

/** Splits a token amount into what Alpaca can take (rounded down to 9 dp) and the remainder ("dust"). */
export function splitForAlpaca(units: bigint, decimals: number): { qty: string; qtyUnits: bigint; dustUnits: bigint } {
  if (decimals <= ALPACA_DECIMALS) return { qty: fromBaseUnits(units, decimals), qtyUnits: units, dustUnits: 0n };
  const step = 10n ** BigInt(decimals - ALPACA_DECIMALS);
  const qtyUnits = (units / step) * step;
  return { qty: fromBaseUnits(qtyUnits, decimals), qtyUnits, dustUnits: units - qtyUnits };
}
