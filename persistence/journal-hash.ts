import crypto from 'node:crypto';

/**
 * The journal's tamper evidence: each flow's rows form a hash chain. A row's `hash` is the sha-256 of
 * the previous row's hash (of the same flow, in seq order) and a canonical encoding of the row's own
 * fields, so changing, removing or inserting a row breaks the chain from that row on. The chain is
 * per flow, not global: an append only reads its own flow's last row, which that flow's seq check
 * already serializes, so appends to different flows never wait for each other.
 *
 * Never change this encoding: every stored hash depends on it. A new encoding needs a new version tag
 * and a migration that re-chains the journal.
 */

/** The `prev_hash` of a flow's first row. */
export const GENESIS_HASH = '0'.repeat(64);

const ENCODING = 'issuance-bot.journal/1';

/** The fields a row's hash covers: everything but `position`, which the database assigns. */
export interface HashedJournalFields {
  eventId: string;
  flowId: string;
  flowType: string;
  seq: number;
  type: string;
  /** The payload as stored (its JSON text is parsed, so key order and spacing do not matter). */
  payload: unknown;
  correlationId: string | null;
  causationId: string | null;
  recordedAt: string;
  machineVersion: string;
}

export function sha256Hex(text: string): string {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/** JSON with object keys sorted at every depth and no spacing: one text per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The hash of one journal row, chained to the one before it. */
export function journalRowHash(prevHash: string, f: HashedJournalFields): string {
  const encoded = canonicalJson([ENCODING, f.eventId, f.flowId, f.flowType, f.seq, f.type, f.payload, f.correlationId, f.causationId, f.recordedAt, f.machineVersion]);
  return sha256Hex(`${prevHash}\n${encoded}`);
}

/** The hashed fields of a `journal` table row as the database returns it. */
export function hashedFieldsOfRow(row: Record<string, any>): HashedJournalFields {
  return {
    eventId: row.event_id,
    flowId: row.flow_id,
    flowType: row.flow_type,
    seq: Number(row.seq),
    type: row.type,
    payload: typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload,
    correlationId: row.correlation_id ?? null,
    causationId: row.causation_id ?? null,
    recordedAt: row.recorded_at,
    machineVersion: row.machine_version,
  };
}
