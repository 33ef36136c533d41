import { errorResponse, nullable, object, ok, type Parameter, type Paths, responseRef } from './building-blocks';
import { operatorSecurity } from './components';

/** What the gate in front of every operator route answers. */
const OPERATOR_GATE = { 401: responseRef('OperatorUnauthorized'), 403: responseRef('NotAllowedAddress'), 429: responseRef('RateLimited'), 500: responseRef('InternalError') };

const query = (name: string, description: string, schema: Parameter['schema']): Parameter => ({ name, in: 'query', required: false, description, schema });

const records = [
  'A header record first (`record: "header"`, `format: "issuance-bot.journal-export/1"`, `generated_at`, `filter`), then one `record: "event"` per journal row in journal order',
  '(`position`, `event_id`, `flow_id`, `flow_type`, `seq`, `type`, `payload`, `correlation_id`, `causation_id`, `recorded_at`, `machine_version`, and the row\'s own chain: `prev_hash`, `hash`),',
  'then `record: "end"` with the number of events. Every record carries `line_hash` = sha-256 of the previous record\'s `line_hash` (64 zeros before the first) and the canonical JSON of the record',
  '(keys sorted, no spacing, `line_hash` left out), so an edited, dropped or reordered line breaks the chain. `issuance-bot audit verify --file` checks a file.',
].join(' ');

/** The body is written as it is read from the database; it is not one JSON value, so its schema only describes it. */
const streamed = (description: string) => ({ schema: { description } });

export const auditPaths: Paths = {
  '/operator/audit/export': {
    get: {
      operationId: 'exportJournal',
      summary: 'Export the journal (a time range, one flow, or all of it) as hash-chained JSON lines or CSV',
      description: `${records} A download cut off part-way lacks its end record.`,
      tags: ['operator'],
      security: operatorSecurity,
      parameters: [
        query('from', 'Events recorded at or after this instant (ISO 8601 with an offset).', { type: 'string', format: 'date-time' }),
        query('to', 'Events recorded before this instant.', { type: 'string', format: 'date-time' }),
        query('flow', 'Only this flow (`mint:…`, `redemption:…`) or registry entity (`asset:…`, `ap:…`, `effect:…`).', { type: 'string', minLength: 1, maxLength: 200 }),
        query('format', '`jsonl` (one JSON object per line) or `csv` (a column header row, then one row per record; text cells are always quoted, an unquoted empty cell is null; header and end records keep their fields as JSON in `payload`).', {
          type: 'string',
          enum: ['jsonl', 'csv'],
          default: 'jsonl',
        }),
      ],
      responses: {
        200: {
          description: 'The export, streamed.',
          headers: { 'Content-Disposition': { description: 'attachment; filename="journal-<time>.<format>"', schema: { type: 'string' } } },
          content: {
            'application/x-ndjson': streamed('One JSON object per line: header, events, end.'),
            'text/csv': streamed('RFC 4180 CSV: the column header row, then header, event and end records.'),
          },
        },
        400: errorResponse('A query parameter failed validation (or is not one this endpoint takes), or `from` is not before `to`.', { validation: true }),
        ...OPERATOR_GATE,
      },
    },
  },
  '/operator/audit/verify': {
    get: {
      operationId: 'verifyJournalChains',
      summary: "Recompute every flow's hash chain from the stored journal rows",
      description: 'Reads the whole journal. A row whose fields were changed no longer matches its hash; a removed, inserted or re-hashed row breaks the link of the next one; a flow whose snapshot is ahead of its journal lost rows at its end.',
      tags: ['operator'],
      security: operatorSecurity,
      responses: {
        200: ok(
          'The verdict; `problems` names each row that does not fit (the first 100).',
          object({
            ok: { type: 'boolean' },
            flows: { type: 'integer', minimum: 0 },
            events: { type: 'integer', minimum: 0 },
            problem_count: { type: 'integer', minimum: 0 },
            problems: {
              type: 'array',
              maxItems: 100,
              items: object({
                position: { ...nullable({ type: 'integer' }), description: 'The journal row (null for a problem of the whole flow).' },
                event_id: nullable({ type: 'string' }),
                flow_id: { type: 'string' },
                seq: nullable({ type: 'integer' }),
                problem: { type: 'string' },
              }),
            },
          }),
        ),
        ...OPERATOR_GATE,
      },
    },
  },
};
