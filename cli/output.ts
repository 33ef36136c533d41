import Table from 'cli-table3';

/** Plain tables: no colour codes, so output piped to a file or grep stays clean. */
export function table(head: string[], rows: Array<Array<string | number | boolean | null | undefined>>): string {
  // No rule between rows: long lists stay one line per row.
  const t = new Table({ head, style: { head: [], border: [] }, wordWrap: false, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const r of rows) t.push(r.map((c) => (c === null || c === undefined ? '' : String(c))));
  return t.toString();
}

/** Two columns, label and value, for one record. */
export function record(pairs: Array<[string, string | number | boolean | null | undefined]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k.padEnd(width)}  ${v === null ? '-' : String(v)}`)
    .join('\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** `2026-01-02T03:04:05.678Z` → `2026-01-02 03:04:05` (UTC). */
export function when(isoTime: string | null | undefined): string {
  if (!isoTime) return '';
  return isoTime.replace('T', ' ').replace(/\.\d+Z$/, '').replace(/Z$/, '');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A compact one-line rendering of an event payload or a context value. */
export function compact(value: unknown, max = 80): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return truncate(value, max);
  return truncate(JSON.stringify(value), max);
}
