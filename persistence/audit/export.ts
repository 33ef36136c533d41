import type { Knex } from 'knex';
import { readJson } from '../database';
import { type EventRecord, EXPORT_FORMAT, type ExportFilter, type ExportFormat, type ExportRecord, FIRST_LINE_PREV, csvHeaderLine, formatRecord, lineHash } from './export-format';

const PAGE = 500;

export interface ExportSummary {
  events: number;
  /** The end record's line hash: keep it apart from the file, and a rewritten file no longer ends on it. */
  finalHash: string | null;
}

/**
 * The journal rows the filter selects, in journal order (`position`), as the lines of an export file.
 * Rows are read a page at a time, so an export of any size streams in flat memory; `summary` is
 * filled in when the last line has been produced.
 */
export function exportJournal(db: Knex, filter: ExportFilter, format: ExportFormat, generatedAt: string): { lines: AsyncGenerator<string>; summary: ExportSummary } {
  const summary: ExportSummary = { events: 0, finalHash: null };
  async function* lines(): AsyncGenerator<string> {
    let prev = FIRST_LINE_PREV;
    const emit = (record: ExportRecord): string => {
      prev = lineHash(prev, record);
      return formatRecord(record, prev, format);
    };
    if (format === 'csv') yield csvHeaderLine();
    yield emit({ record: 'header', format: EXPORT_FORMAT, generated_at: generatedAt, filter: { from: filter.from ?? null, to: filter.to ?? null, flow: filter.flow ?? null } });
    let after = 0;
    for (;;) {
      const page = db('journal').where('position', '>', after).orderBy('position').limit(PAGE);
      if (filter.flow !== undefined) page.where({ flow_id: filter.flow });
      if (filter.from !== undefined) page.where('recorded_at', '>=', filter.from);
      if (filter.to !== undefined) page.where('recorded_at', '<', filter.to);
      const rows: Array<Record<string, any>> = await page;
      if (rows.length === 0) break;
      for (const row of rows) {
        summary.events++;
        yield emit(eventRecord(row));
      }
      after = Number(rows[rows.length - 1]!.position);
    }
    yield emit({ record: 'end', events: summary.events });
    summary.finalHash = prev;
  }
  return { lines: lines(), summary };
}

function eventRecord(row: Record<string, any>): EventRecord {
  return {
    record: 'event',
    position: Number(row.position),
    event_id: row.event_id,
    flow_id: row.flow_id,
    flow_type: row.flow_type,
    seq: Number(row.seq),
    type: row.type,
    payload: readJson(row.payload),
    correlation_id: row.correlation_id ?? null,
    causation_id: row.causation_id ?? null,
    recorded_at: row.recorded_at,
    machine_version: row.machine_version,
    prev_hash: row.prev_hash ?? null,
    hash: row.hash ?? null,
  };
}
