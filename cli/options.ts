import { InvalidArgumentError } from 'commander';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `15m`, `2h`, `3d` → seconds. */
export function parseDuration(value: string): number {
  const m = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 90, 90s, 15m, 2h or 3d');
  return Number(m[1]) * UNIT_SECONDS[m[2] || 's']!;
}

export function parsePositiveInt(max: number) {
  return (value: string): number => {
    if (!/^\d{1,9}$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number');
    const n = Number(value);
    if (n < 1 || n > max) throw new InvalidArgumentError(`expected a number from 1 to ${max}`);
    return n;
  };
}

/** Any date or date-time `Date` understands (`2026-05-01`, `2026-05-01T12:00:00+02:00`), as UTC ISO. */
export function parseInstant(value: string): string {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) throw new InvalidArgumentError('expected an ISO 8601 date or date-time, e.g. 2026-05-01T12:00:00Z');
  return new Date(ms).toISOString();
}

const OPERATOR_EVENT = /^OPERATOR_[A-Z_]+$/;

export function parseOperatorEvent(value: string): string {
  if (!OPERATOR_EVENT.test(value)) throw new InvalidArgumentError('only OPERATOR_* events can be sent (e.g. OPERATOR_CLOSE)');
  return value;
}
