import { AUTH_ERROR_CODES } from '../auth/errors';
import { type ErrorShapes, type JsonSchema, nullable, object, ref, type Response, errorResponse, json } from './building-blocks';

const isoTime: JsonSchema = { type: 'string', format: 'date-time' };
const text: JsonSchema = { type: 'string' };
/** Token amounts and receipt ids are uint256 values, carried as decimal strings. */
const uint256: JsonSchema = { type: 'string', pattern: '^[0-9]+$' };

/** Every error body: a stable snake_case code and a message safe to show. */
const errorBody = object({ code: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' }, message: text });

const wallet = object({ network: text, address: text });

export const schemas: Record<string, JsonSchema> = {
  Error: { ...errorBody, description: 'Every error answer: `{code, message}`; the code is stable, the message is safe to show.' },
  ValidationError: object(
    {
      code: { const: 'invalid_request' },
      message: text,
      issues: { type: 'array', maxItems: 20, items: object({ path: text, message: text }) },
    },
    undefined,
    { description: 'A request that failed validation: the failing paths and reasons, never the submitted values.' },
  ),
  EventNotAcceptedError: object(
    { code: { const: 'event_not_accepted' }, message: text, state: text, event: text },
    undefined,
    { description: "The flow's current state does not take this event; nothing was written." },
  ),
  InternalError: object({ code: { const: 'internal_error' }, message: text, request_id: text }, undefined, {
    description: 'An unexpected failure; the request id is the one in the logs (and in the X-Request-Id header).',
  }),

  Wallet: wallet,
  AuthorizedParticipant: object(
    {
      apId: text,
      email: { type: 'string', format: 'email' },
      name: nullable(text),
      wallets: { type: 'array', items: ref('Wallet') },
      link: nullable(object({ clientAccountNumber: text, linkedAt: isoTime })),
    },
    undefined,
    { description: 'An authorized participant as the registry holds it (field names in camelCase, unlike the asset rows).' },
  ),
  TokenizedAsset: object({
    asset_id: text,
    underlying_symbol: text,
    token_symbol: text,
    network: text,
    vault_address: text,
    decimals: { type: 'integer', minimum: 0 },
    enabled: { type: 'boolean' },
    halted: { type: 'boolean' },
    halt_reason: nullable(text),
    created_at: isoTime,
    updated_at: isoTime,
  }),

  FlowSummary: object({
    flow_id: text,
    flow_type: text,
    state: text,
    status: ref('FlowStatus'),
    needs_operator: { type: 'boolean' },
    tags: ref('FlowTags'),
    seq: { type: 'integer', minimum: 0 },
    underlying_symbol: nullable(text),
    token_symbol: nullable(text),
    qty: { ...nullable(text), description: 'The amount of underlying the flow moves (a decimal string).' },
    failure: { ...nullable(text), description: 'What went wrong last (`<code>: <message>`), while the flow carries a failure.' },
    created_at: isoTime,
    updated_at: isoTime,
  }),
  FlowStatus: { type: 'string', enum: ['active', 'done', 'error', 'stopped'] },
  FlowTags: {
    type: 'array',
    items: { type: 'string' },
    description:
      "The tags of the flow's state, sorted: what other code knows of a state without naming it (`needsOperator`, `approvalPending`, `secondApprovalPending`, `journalUnconfirmed`, `journaledNotMinted`, `mintAbandoned`, `redeemAtAlpaca`, `awaitingBurn`, `redeemNotRequested`, `redeemClosed`, `burnRecorded`).",
  },
  Flow: object(
    {
      flowId: text,
      flowType: text,
      seq: { type: 'integer', minimum: 0 },
      state: text,
      status: ref('FlowStatus'),
      needsOperator: { type: 'boolean' },
      tags: ref('FlowTags'),
      snapshot: {
        type: 'object',
        description: "The machine's persisted snapshot (XState): its state value, its context and its status.",
        required: ['value', 'context', 'status'],
        properties: { value: {}, context: { type: 'object' }, status: text },
      },
      machineVersion: { type: 'string', examples: ['mint@1'] },
      createdAt: isoTime,
      updatedAt: isoTime,
    },
    undefined,
    { description: 'A flow as the host stores it (field names in camelCase).' },
  ),
  JournalEntry: object(
    {
      position: { type: 'integer' },
      eventId: text,
      flowId: text,
      flowType: text,
      seq: { type: 'integer', minimum: 1 },
      type: text,
      payload: { type: 'object' },
      correlationId: nullable(text),
      causationId: nullable(text),
      recordedAt: isoTime,
      machineVersion: text,
    },
    ['eventId', 'flowId', 'flowType', 'seq', 'type', 'payload', 'correlationId', 'causationId', 'recordedAt', 'machineVersion'],
  ),
  OutboxEffectStatus: { type: 'string', enum: ['pending', 'done', 'failed', 'cancelled'] },
  FlowEffect: object({
    effect_id: text,
    type: text,
    status: ref('OutboxEffectStatus'),
    attempts: { type: 'integer', minimum: 0 },
    next_attempt_at: isoTime,
    in_backoff: { type: 'boolean', description: 'Pending and waiting for its next attempt.' },
    running: { type: 'boolean', description: 'Pending and being performed right now (its lease is held).' },
    last_error: nullable(text),
    issued_in: { type: 'string', description: 'The state that asked for the effect (empty for rows written before it was recorded).' },
    created_at: isoTime,
    updated_at: isoTime,
    params: { type: 'object' },
  }),
  TimelineEntry: object(
    {
      seq: { type: 'integer', minimum: 1 },
      recorded_at: isoTime,
      type: text,
      payload: { type: 'object', description: "The event's fields, without its type." },
      operator: { ...nullable(text), description: 'The operator who sent the event, when a person did.' },
      correlation_id: nullable(text),
      causation_id: nullable(text),
    },
    undefined,
    { description: 'A journal entry as an operator reads it.' },
  ),
  OperatorEvents: { type: 'array', items: { type: 'string', pattern: '^OPERATOR_[A-Z_]+$' }, description: "The `OPERATOR_*` events the flow's current state takes (none once it is final)." },
  FlowTimer: object({ send_id: text, due_at: isoTime, event: { type: 'object', required: ['type'], properties: { type: text } } }),
  FlowDetail: object({
    flow: ref('Flow'),
    operator_events: ref('OperatorEvents'),
    timeline: { type: 'array', items: ref('TimelineEntry') },
    journal: { type: 'array', items: ref('JournalEntry') },
    outbox: { type: 'array', items: ref('FlowEffect') },
    timers: { type: 'array', items: ref('FlowTimer') },
  }),
  OutboxEffect: object({
    effect_id: text,
    flow_id: text,
    type: text,
    status: ref('OutboxEffectStatus'),
    attempts: { type: 'integer', minimum: 0 },
    next_attempt_at: isoTime,
    last_error: nullable(text),
    updated_at: isoTime,
  }),

  Receipt: object({
    vault_address: text,
    receipt_id: uint256,
    network: text,
    token_symbol: text,
    shares_minted: uint256,
    shares_remaining: uint256,
    minted_by: { type: 'string', description: 'The tokenization request id of the mint that created the receipt.' },
    tx_hash: text,
  }),
}

/** A receipt row with the receipt contract's balance next to it (`?verify=chain`). */
schemas.CheckedReceipt = {
  ...(schemas.Receipt as JsonSchema),
  properties: { ...((schemas.Receipt as { properties: Record<string, JsonSchema> }).properties), on_chain: nullable(uint256), matches: { type: 'boolean' } },
  required: [...((schemas.Receipt as { required: string[] }).required), 'on_chain', 'matches'],
};

const signatureDescription = [
  'RFC 9421 HTTP Message Signatures, as Alpaca signs its calls: headers `Signature-Input` and `Signature`, label `sig`,',
  '`alg="ed25519"` (any other value is refused), parameters `keyid` (one of the configured keys; several during a rotation),',
  '`created` (at most SIGNATURE_MAX_AGE_SECONDS old) and `nonce` (single use).',
  'Covered components: `@method @target-uri content-type content-digest` on POST, `@method @target-uri` on GET;',
  '`Content-Digest` (RFC 9530, sha-256) must match the raw body. `@target-uri` is rebuilt from PUBLIC_BASE_URL when set.',
  'A request carrying `Signature-Input`/`Signature` is judged by its signature alone.',
].join(' ');

export const securitySchemes = {
  AlpacaApiKey: { type: 'apiKey', in: 'header', name: 'X-API-KEY', description: 'The shared secret Alpaca sends (ALPACA_INBOUND_API_KEY), compared in constant time.' },
  // OpenAPI has no scheme type for RFC 9421; an apiKey-in-header entry names the header and the description says the rest.
  AlpacaHttpSignature: { type: 'apiKey', in: 'header', name: 'Signature', description: signatureDescription },
  OperatorBearer: { type: 'http', scheme: 'bearer', description: 'An operator token (OPERATOR_TOKEN or OPERATOR_TOKENS_FILE), a credential Alpaca never holds.' },
  MetricsBearer: { type: 'http', scheme: 'bearer', description: 'The scrape token (METRICS_TOKEN) or any operator token.' },
};

type SecurityRequirement = Record<string, string[]>;
/** Either Alpaca scheme (two requirement objects: one or the other). */
export const alpacaSecurity: SecurityRequirement[] = [{ AlpacaApiKey: [] }, { AlpacaHttpSignature: [] }];
export const operatorSecurity: SecurityRequirement[] = [{ OperatorBearer: [] }];
export const metricsSecurity: SecurityRequirement[] = [{ MetricsBearer: [] }];

export const OPERATOR_AUTH_CODES: string[] = ['missing_credentials', 'invalid_operator_token'];
const ALPACA_AUTH_CODES: string[] = AUTH_ERROR_CODES.filter((c) => c !== 'invalid_operator_token');

/**
 * The 400s any POST, PUT or PATCH may get besides its handler's own: the JSON body reader's refusals,
 * and `invalid_characters` when PostgreSQL refuses a NUL character in a text field.
 */
export const BODY_ERRORS_400: ErrorShapes = { codes: ['malformed_json', 'invalid_request', 'unreadable_body', 'invalid_characters'] };

export const responses: Record<string, Response> = {
  AlpacaUnauthorized: errorResponse('Missing or failed Alpaca credentials (API key or signature).', { codes: ALPACA_AUTH_CODES }),
  OperatorUnauthorized: {
    ...errorResponse('Missing or wrong operator bearer token.', { codes: OPERATOR_AUTH_CODES }),
    headers: { 'WWW-Authenticate': { description: 'The bearer challenge (`Bearer realm="operator"`, with `error="invalid_token"` for a wrong token).', schema: { type: 'string' } } },
  },
  NotAllowedAddress: errorResponse('The client address is outside the allow-list of this endpoint (ALPACA_IP_ALLOWLIST, OPERATOR_IP_ALLOWLIST).', { codes: ['ip_not_allowed'] }),
  RateLimited: {
    ...errorResponse('Too many requests for this credential, or too many failed authentications from this address.', { codes: ['rate_limited'] }),
    headers: { 'Retry-After': { description: 'Seconds to wait before the next attempt.', schema: { type: 'integer', minimum: 1 } } },
  },
  BodyTooLarge: errorResponse('The body exceeds BODY_LIMIT_BYTES (the connection is closed).', { codes: ['body_too_large'] }),
  UnsupportedMediaType: errorResponse('A non-empty body that is not `application/json`.', { codes: ['unsupported_media_type'] }),
  InternalError: { description: 'An unexpected failure (Alpaca retries 5xx).', content: json(ref('InternalError')) },
};

/**
 * The answer when no route took the request: 404 `route_not_found`, 405 `method_not_allowed`, or a
 * 4xx from the layers that run before routing: the body reader on writes, the operator gate on any
 * `/operator/...` path, the Alpaca gate on an Alpaca path called with another method. Listed in
 * `components.responses.NoRoute`; the statuses it may carry are these.
 */
export const NO_ROUTE_STATUSES = [400, 401, 403, 404, 405, 413, 415, 429];

responses.NoRoute = errorResponse('No route matched the method and path.', {
  codes: [
    'route_not_found',
    'method_not_allowed',
    'bad_request',
    ...AUTH_ERROR_CODES,
    'ip_not_allowed',
    'rate_limited',
    'malformed_json',
    'invalid_request',
    'unreadable_body',
    'body_too_large',
    'unsupported_media_type',
  ],
});

/** OPTIONS on an Alpaca path, once the caller is authenticated: the methods the path takes, no body. */
responses.AllowedMethods = {
  description: 'The methods this path takes (OPTIONS on an Alpaca path, after authentication).',
  headers: { Allow: { description: 'Comma-separated methods, e.g. `HEAD, GET`.', schema: { type: 'string' } } },
};
