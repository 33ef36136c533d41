import { GENESIS_HASH, journalRowHash } from '../journal-hash';
import { CSV_COLUMNS, CsvReader, type EventRecord, EXPORT_FORMAT, type ExportFormat, type ExportRecord, FIRST_LINE_PREV, lineHash, recordFromCsv, recordFromJsonLine } from './export-format';

export interface ExportProblem {
  /** 1-based line of the file (for CSV, the line the row starts on). */
  line: number;
  problem: string;
}

export interface ExportVerification {
  ok: boolean;
  format: ExportFormat | null;
  events: number;
  flows: number;
  /** The line hash the file ends on (compare it with the one noted when the file was made). */
  finalHash: string | null;
  problems: ExportProblem[];
}

const MAX_PROBLEMS = 100;

/**
 * Checks an export file on its own: the file chain (every line hash, so edited, dropped, duplicated
 * and reordered lines show), the header and end records, every event's own hash, and the links
 * between consecutive events of one flow. Anyone with the file can run it; someone who rewrites the
 * whole file can recompute every hash, which is why the final hash is reported when the file is made
 * and `audit verify` also checks the database the file came from.
 */
export async function verifyExport(chunks: AsyncIterable<string | Buffer> | Iterable<string>): Promise<ExportVerification> {
  const problems: ExportProblem[] = [];
  const problem = (line: number, text: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ line, problem: text });
  };
  let format: ExportFormat | null = null;
  let prev = FIRST_LINE_PREV;
  let index = 0;
  let events = 0;
  let header: ExportRecord | undefined;
  let end: { line: number; events: number } | undefined;
  const lastOfFlow = new Map<string, { seq: number; hash: string | null }>();

  const take = (line: number, parsed: { record: ExportRecord; lineHash: string }) => {
    const { record } = parsed;
    if (end) problem(line, 'a record after the end record');
    const expected = lineHash(prev, record);
    if (expected !== parsed.lineHash) {
      problem(line, index === 0 ? 'the first record does not start the chain: the line was changed, or lines before it were removed' : 'line hash does not match: this line was changed, or the lines before it were removed or reordered');
    }
    // Carry on from the hash the line states, so one edit is reported once, not on every later line.
    prev = parsed.lineHash;
    if (index === 0) {
      if (record.record !== 'header') problem(line, 'the file does not start with its header record');
      else if (record.format !== EXPORT_FORMAT) problem(line, `unknown export format ${record.format}`);
      header = record;
    } else if (record.record === 'header') {
      problem(line, 'a second header record');
    }
    index++;
    if (record.record === 'end') end = { line, events: record.events };
    if (record.record === 'event') {
      events++;
      checkEvent(line, record);
    }
  };

  const checkEvent = (line: number, e: EventRecord) => {
    const at = `${e.flow_id} seq ${e.seq}`;
    if (!e.hash || !e.prev_hash) {
      problem(line, `${at}: the event carries no hash`);
    } else {
      let recomputed: string | undefined;
      try {
        recomputed = journalRowHash(e.prev_hash, {
          eventId: e.event_id,
          flowId: e.flow_id,
          flowType: e.flow_type,
          seq: e.seq,
          type: e.type,
          payload: e.payload,
          correlationId: e.correlation_id,
          causationId: e.causation_id,
          recordedAt: e.recorded_at,
          machineVersion: e.machine_version,
        });
      } catch {
        recomputed = undefined;
      }
      if (recomputed !== e.hash) problem(line, `${at}: the event does not match its hash`);
    }
    const before = lastOfFlow.get(e.flow_id);
    if (before && e.seq <= before.seq) problem(line, `${at}: comes after seq ${before.seq} of the same flow`);
    else if (before && e.seq === before.seq + 1 && before.hash && e.prev_hash !== before.hash) problem(line, `${at}: prev_hash does not match the hash of seq ${before.seq}`);
    else if (!before && e.seq === 1 && e.prev_hash && e.prev_hash !== GENESIS_HASH) problem(line, `${at}: a flow's first event must start from the genesis hash`);
    else if (before && e.seq > before.seq + 1 && header?.record === 'header' && header.filter.flow !== null && header.filter.from === null && header.filter.to === null) {
      problem(line, `${at}: seq ${before.seq + 1} to ${e.seq - 1} are missing from a whole-flow export`);
    }
    lastOfFlow.set(e.flow_id, { seq: e.seq, hash: e.hash });
  };

  let lineNo = 0;
  let pending = '';
  let csv: CsvReader | undefined;
  let csvHeaderSeen = false;
  let csvRowLine = 1;

  const takeJsonLine = (text: string) => {
    lineNo++;
    if (text.trim() === '') return;
    try {
      take(lineNo, recordFromJsonLine(text));
    } catch (err) {
      problem(lineNo, `not a record: ${(err as Error).message}`);
    }
  };
  const takeCsvRows = (rows: ReturnType<CsvReader['feed']>) => {
    for (const cells of rows) {
      const line = csvRowLine;
      csvRowLine += 1 + cells.reduce((n, c) => n + (c.text.match(/\n/g)?.length ?? 0), 0);
      if (!csvHeaderSeen) {
        csvHeaderSeen = true;
        if (cells.map((c) => c.text).join(',') !== CSV_COLUMNS.join(',')) problem(line, 'the first row is not the column header');
        continue;
      }
      try {
        take(line, recordFromCsv(cells));
      } catch (err) {
        problem(line, `not a record: ${(err as Error).message}`);
      }
    }
  };

  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (format === null) {
      const start = (pending + text).trimStart();
      if (start === '') {
        pending += text;
        continue;
      }
      format = start.startsWith('{') ? 'jsonl' : 'csv';
      if (format === 'csv') {
        csv = new CsvReader();
        takeCsvRows(csv.feed(pending + text));
        pending = '';
        continue;
      }
    }
    if (format === 'csv') {
      takeCsvRows(csv!.feed(text));
      continue;
    }
    pending += text;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const part of parts) takeJsonLine(part.replace(/\r$/, ''));
  }
  if (format === 'jsonl' && pending !== '') takeJsonLine(pending);
  if (format === 'csv') {
    try {
      takeCsvRows(csv!.end());
    } catch (err) {
      problem(csvRowLine, (err as Error).message);
    }
  }

  if (format === null) problem(1, 'the file is empty');
  else if (!end) problem(lineNo || csvRowLine, 'the file has no end record: it was cut short');
  else if (end.events !== events) problem(end.line, `the end record counts ${end.events} events, the file holds ${events}`);
  return { ok: problems.length === 0, format, events, flows: lastOfFlow.size, finalHash: index > 0 ? prev : null, problems };
}
