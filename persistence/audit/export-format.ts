import { GENESIS_HASH, canonicalJson, sha256Hex } from '../journal-hash';

/**
 * The audit export: the journal as records (a header, one record per event, an end record), written
 * as JSON lines or as CSV. Besides each event's own hash chain (journal-hash.ts), the file carries a
 * chain of its own: every record's `line_hash` is the sha-256 of the previous record's `line_hash` and
 * the canonical JSON of the record, so a line edited, dropped, duplicated or moved breaks the chain at
 * that point, and a file cut short lacks its end record. Both formats carry the same records and so
 * the same line hashes: a CSV and a JSON-lines export of the same range end on the same hash.
 */

export const EXPORT_FORMAT = 'issuance-bot.journal-export/1';
export type ExportFormat = 'jsonl' | 'csv';

export interface ExportFilter {
  /** Events recorded at or after this instant (ISO 8601, UTC). */
  from?: string;
  /** Events recorded before this instant. */
  to?: string;
  /** Only this flow's (or registry entity's) events. */
  flow?: string;
}

export interface HeaderRecord {
  record: 'header';
  format: string;
  generated_at: string;
  filter: { from: string | null; to: string | null; flow: string | null };
}

export interface EventRecord {
  record: 'event';
  position: number;
  event_id: string;
  flow_id: string;
  flow_type: string;
  seq: number;
  type: string;
  payload: unknown;
  correlation_id: string | null;
  causation_id: string | null;
  recorded_at: string;
  machine_version: string;
  prev_hash: string | null;
  hash: string | null;
}

export interface EndRecord {
  record: 'end';
  events: number;
}

export type ExportRecord = HeaderRecord | EventRecord | EndRecord;

/** The chain link of one record: what came before it, and the record itself. */
export function lineHash(prevLineHash: string, record: ExportRecord): string {
  return sha256Hex(`${prevLineHash}\n${canonicalJson(record)}`);
}

export const FIRST_LINE_PREV = GENESIS_HASH;

export const CSV_COLUMNS = [
  'record',
  'position',
  'event_id',
  'flow_id',
  'flow_type',
  'seq',
  'type',
  'payload',
  'correlation_id',
  'causation_id',
  'recorded_at',
  'machine_version',
  'prev_hash',
  'hash',
  'line_hash',
] as const;

export const CONTENT_TYPES: Record<ExportFormat, string> = { jsonl: 'application/x-ndjson', csv: 'text/csv' };

/** One record as a line of its format (with its line hash), newline included. */
export function formatRecord(record: ExportRecord, hash: string, format: ExportFormat): string {
  if (format === 'jsonl') return `${JSON.stringify({ ...record, line_hash: hash })}\n`;
  return `${csvRow(csvCells(record, hash))}\n`;
}

export function csvHeaderLine(): string {
  return `${csvRow([...CSV_COLUMNS])}\n`;
}

/** Header and end records keep their own fields as canonical JSON in the payload column. */
function csvCells(record: ExportRecord, hash: string): Array<string | number | null> {
  const blank = { position: null, event_id: null, flow_id: null, flow_type: null, seq: null, type: null, correlation_id: null, causation_id: null, recorded_at: null, machine_version: null, prev_hash: null, hash: null };
  let cells: Record<string, string | number | null>;
  if (record.record === 'event') {
    cells = { ...record, payload: canonicalJson(record.payload) };
  } else {
    const { record: kind, ...rest } = record;
    cells = { ...blank, record: kind, payload: canonicalJson(rest) };
  }
  return CSV_COLUMNS.map((c) => (c === 'line_hash' ? hash : (cells[c] ?? null)));
}

/**
 * RFC 4180 with one addition that keeps null and "" apart: text is always quoted, so an unquoted
 * empty cell is null (as PostgreSQL's CSV does it).
 */
function csvRow(cells: Array<string | number | null>): string {
  return cells.map((c) => (c === null ? '' : typeof c === 'number' ? String(c) : `"${c.replace(/"/g, '""')}"`)).join(',');
}

/** A CSV cell as read back: its text and whether it was quoted. */
export interface CsvCell {
  text: string;
  quoted: boolean;
}

/** Incremental RFC 4180 reader: feed chunks, get completed rows (quoted cells may span lines). */
export class CsvReader {
  private cell = '';
  private quoted = false;
  private inQuotes = false;
  private quoteSeen = false;
  private row: CsvCell[] = [];
  private started = false;

  feed(chunk: string): CsvCell[][] {
    const rows: CsvCell[][] = [];
    for (const ch of chunk) {
      if (this.inQuotes) {
        if (this.quoteSeen) {
          this.quoteSeen = false;
          if (ch === '"') {
            this.cell += '"';
            continue;
          }
          this.inQuotes = false; // that quote closed the cell; fall through to handle ch
        } else if (ch === '"') {
          this.quoteSeen = true;
          continue;
        } else {
          this.cell += ch;
          continue;
        }
      }
      if (ch === '"' && this.cell === '' && !this.quoted) {
        this.inQuotes = true;
        this.quoted = true;
        this.started = true;
      } else if (ch === ',') {
        this.endCell();
      } else if (ch === '\n') {
        if (this.started || this.row.length) {
          this.endCell();
          rows.push(this.row);
        }
        this.row = [];
        this.started = false;
      } else if (ch !== '\r') {
        this.cell += ch;
        this.started = true;
      }
    }
    return rows;
  }

  /** The last row, when the text does not end with a newline. */
  end(): CsvCell[][] {
    if (this.quoteSeen) {
      this.quoteSeen = false;
      this.inQuotes = false;
    }
    if (this.inQuotes) throw new Error('the CSV ends inside a quoted cell');
    if (!this.started && this.row.length === 0) return [];
    this.endCell();
    const last = this.row;
    this.row = [];
    return [last];
  }

  private endCell(): void {
    this.row.push({ text: this.cell, quoted: this.quoted });
    this.cell = '';
    this.quoted = false;
    this.started = true;
  }
}

/** A CSV row back into its record (and the line hash it carries); throws on a malformed row. */
export function recordFromCsv(cells: CsvCell[]): { record: ExportRecord; lineHash: string } {
  if (cells.length !== CSV_COLUMNS.length) throw new Error(`expected ${CSV_COLUMNS.length} cells, found ${cells.length}`);
  const byName = new Map(CSV_COLUMNS.map((c, i) => [c, cells[i]!]));
  const text = (name: string): string | null => {
    const c = byName.get(name as (typeof CSV_COLUMNS)[number])!;
    return c.quoted ? c.text : c.text === '' ? null : c.text;
  };
  const int = (name: string): number => {
    const v = text(name);
    if (v === null || !/^-?\d+$/.test(v)) throw new Error(`${name} is not a whole number`);
    return Number(v);
  };
  const required = (name: string): string => {
    const v = text(name);
    if (v === null) throw new Error(`${name} is empty`);
    return v;
  };
  const kind = required('record');
  const payload = JSON.parse(required('payload')) as Record<string, unknown>;
  const hash = required('line_hash');
  if (kind === 'event') {
    return {
      lineHash: hash,
      record: {
        record: 'event',
        position: int('position'),
        event_id: required('event_id'),
        flow_id: required('flow_id'),
        flow_type: required('flow_type'),
        seq: int('seq'),
        type: required('type'),
        payload,
        correlation_id: text('correlation_id'),
        causation_id: text('causation_id'),
        recorded_at: required('recorded_at'),
        machine_version: required('machine_version'),
        prev_hash: text('prev_hash'),
        hash: text('hash'),
      },
    };
  }
  if (kind === 'header' || kind === 'end') return { lineHash: hash, record: { record: kind, ...payload } as ExportRecord };
  throw new Error(`unknown record kind ${kind}`);
}

/** A JSON line back into its record (and the line hash it carries). */
export function recordFromJsonLine(line: string): { record: ExportRecord; lineHash: string } {
  const parsed = JSON.parse(line) as Record<string, unknown>;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
  const { line_hash, ...record } = parsed;
  if (typeof line_hash !== 'string') throw new Error('no line_hash');
  if (record.record !== 'header' && record.record !== 'event' && record.record !== 'end') throw new Error(`unknown record kind ${String(record.record)}`);
  return { record: record as unknown as ExportRecord, lineHash: line_hash };
}
