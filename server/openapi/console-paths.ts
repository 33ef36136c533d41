import { errorResponse, type Operation, type Paths, pathParam, type Response, responseRef } from './building-blocks';
import { operatorSecurity } from './components';

const text = (description: string) => ({ type: 'string', description });
const etag = { ETag: { description: 'A hash of the content; send it back as `If-None-Match` to get a 304.', schema: { type: 'string' } } };
const notModified: Response = { description: 'Unchanged since the `If-None-Match` ETag (no body).', headers: etag };

/** What the operator gate answers in front of the stream and the charts (as on every operator route). */
const OPERATOR_GATE = { 401: responseRef('OperatorUnauthorized'), 403: responseRef('NotAllowedAddress'), 500: responseRef('InternalError') };

function file(description: string, contentTypes: string[]): Response {
  return { description, headers: etag, content: Object.fromEntries(contentTypes.map((t) => [t, { schema: text('The file.') }])) };
}

const consoleFile = (operationId: string, summary: string, description: string, response: Response, extra: Partial<Operation> = {}): Operation => ({
  operationId,
  summary,
  description,
  tags: ['console'],
  security: [],
  ...extra,
  responses: { 200: response, 304: notModified, ...extra.responses, 500: responseRef('InternalError') },
});

const streamEvents = [
  'Server-sent events (`text/event-stream`), written as they happen; the response does not end until the client goes or the service stops.',
  '`event: ready` comes first, `data: {"position": <journal position it starts after>, "heartbeat_ms": <n>}`.',
  'Then one `event: journal` per committed journal entry, in commit order, `id: <position>`,',
  '`data: {"position", "event_id", "flow_id", "flow_type", "seq", "type", "state", "status", "needs_operator", "tags", "operator", "recorded_at"}`:',
  '`state`, `status`, `needs_operator` and `tags` are the flow after the event (null for registry entities: `asset:…`, `ap:…`, `effect:…`);',
  '`operator` names who sent the event when a person did.',
  'A comment line (`: heartbeat`) follows every `heartbeat_ms` of silence.',
].join(' ');

/** The operator console: its public page and files, and the operator-gated live journal and state charts it reads. */
export const consolePaths: Paths = {
  '/console': {
    get: consoleFile(
      'getConsole',
      'The operator console (web page)',
      "The page holds no data and needs no credentials; it asks for an operator token, keeps it in the tab's session storage, and calls the `/operator` API with it. Served with its own Content-Security-Policy (this origin only, nothing inline).",
      file('The console page.', ['text/html']),
    ),
  },
  '/console/{file}': {
    get: consoleFile('getConsoleFile', "One of the console's scripts, styles or icons", 'Only the files of the console folder are served, by exact name.', file('The file.', ['text/javascript', 'text/css', 'image/svg+xml', 'text/html']), {
      parameters: [pathParam('file', 'A file name, e.g. `console.js`.')],
      responses: { 404: errorResponse('The console has no such file.', { codes: ['file_not_found'] }) },
    }),
  },
  '/operator/stream': {
    get: {
      operationId: 'streamJournal',
      summary: 'The journal, live: one server-sent event per committed entry, from every instance on the database',
      description: `${streamEvents} The bearer token goes in the \`Authorization\` header (read it with fetch(): EventSource cannot send one).`,
      tags: ['console', 'operator'],
      security: operatorSecurity,
      responses: {
        200: {
          description: 'The event stream.',
          // No `type`: the body is written to the socket as events happen, not handed over as one value.
          content: { 'text/event-stream': { schema: { description: streamEvents } } },
        },
        400: errorResponse('A query parameter was given (the stream takes none).', { validation: true }),
        ...OPERATOR_GATE,
        429: {
          ...errorResponse('Too many requests for this operator, or too many open streams (per operator or in all).', { codes: ['rate_limited', 'too_many_streams'] }),
          headers: { 'Retry-After': { description: 'With `rate_limited`: seconds to wait before the next attempt.', schema: { type: 'integer', minimum: 1 } } },
        },
      },
    },
  },
  '/operator/charts/{flowType}': {
    get: {
      operationId: 'getStateChart',
      summary: "A flow type's state chart (the SVG `npm run diagrams` draws)",
      description: 'Graphviz SVG: each state is a `<g class="node">` whose `<title>` is `<flowType>.<state path>` (`mint.minting.submitting`); compound states are clusters titled `cluster_<flowType>.<state>`.',
      tags: ['console', 'operator'],
      security: operatorSecurity,
      parameters: [pathParam('flowType', 'The flow type: `mint` or `redemption`.')],
      responses: {
        200: file('The chart.', ['image/svg+xml']),
        304: notModified,
        404: errorResponse('No chart for this flow type.', { codes: ['chart_not_found'] }),
        ...OPERATOR_GATE,
        429: responseRef('RateLimited'),
      },
    },
  },
};
