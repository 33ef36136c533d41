import { type ErrorShapes, errorResponse, json, jsonBody, mergeErrors, object, ok, type Operation, type Parameter, type Paths, pathParam, ref, type Response, responseRef } from './building-blocks';
import { BODY_ERRORS_400, metricsSecurity, operatorSecurity } from './components';

/** What the gate in front of every operator route answers: allow-list, bearer token, rate limits. */
const OPERATOR_GATE = { 401: responseRef('OperatorUnauthorized'), 403: responseRef('NotAllowedAddress'), 429: responseRef('RateLimited'), 500: responseRef('InternalError') };

function read(op: Omit<Operation, 'security' | 'tags'>, badQuery?: string): Operation {
  const responses: Operation['responses'] = { ...op.responses, ...OPERATOR_GATE };
  if (badQuery) responses[400] = errorResponse(badQuery, { validation: true });
  return { ...op, tags: ['operator'], security: operatorSecurity, responses };
}

/** An operator write: the body reader's answers (400/413/415) besides the operation's own. */
function write(op: Omit<Operation, 'security' | 'tags'>, badRequest: { description: string } & ErrorShapes = { description: 'The body could not be read.' }): Operation {
  return {
    ...op,
    tags: ['operator'],
    security: operatorSecurity,
    responses: {
      ...op.responses,
      400: mergeErrors(badRequest.description, BODY_ERRORS_400, badRequest),
      ...OPERATOR_GATE,
      413: responseRef('BodyTooLarge'),
      415: responseRef('UnsupportedMediaType'),
    },
  };
}

const text = { type: 'string' };
const query = (name: string, description: string, schema: Parameter['schema']): Parameter => ({ name, in: 'query', required: false, description, schema });

const apId = pathParam('apId', 'The AP id (a ULID).');
const assetId = pathParam('assetId', 'The asset id (a ULID).');
const flowId = pathParam('flowId', 'The flow id: `mint:<tokenization_request_id>` or `redemption:<network>:<tx>:<logIndex>`.');

const apNotFound = errorResponse('No such authorized participant.', { codes: ['ap_not_found'] });
const assetNotFound = errorResponse('No such asset.', { codes: ['asset_not_found'] });
const flowNotFound = errorResponse('No such flow.', { codes: ['flow_not_found'] });
const asset = (description: string): Response => ok(description, ref('TokenizedAsset'));

/** One asset switch (enable, disable, resume): no body, the asset as it now stands. */
function assetSwitch(operationId: string, summary: string): Operation {
  return write({ operationId, summary, parameters: [assetId], responses: { 200: asset('The asset after the change (unchanged when it already was so).'), 404: assetNotFound } });
}

/** The operator's view and controls: registry, flows, effects, receipts. */
export const operatorPaths: Paths = {
  '/operator/aps': {
    get: read({
      operationId: 'listAuthorizedParticipants',
      summary: 'Every registered authorized participant',
      responses: { 200: ok('The APs, oldest first.', object({ authorized_participants: { type: 'array', items: ref('AuthorizedParticipant') } })) },
    }),
    post: write(
      {
        operationId: 'registerAuthorizedParticipant',
        summary: 'Register an authorized participant',
        requestBody: jsonBody(ref('RegisterApRequest')),
        responses: {
          201: ok('Registered.', ref('AuthorizedParticipant')),
          409: errorResponse('The e-mail, or one of the wallets, is already registered.', { codes: ['ap_already_registered', 'wallet_already_registered'] }),
        },
      },
      { description: 'The body failed validation, or a wallet address is not valid for its network.', validation: true, codes: ['invalid_wallet'] },
    ),
  },
  '/operator/aps/{apId}/wallets': {
    put: write(
      {
        operationId: 'replaceApWallets',
        summary: "Replace an AP's wallets",
        parameters: [apId],
        requestBody: jsonBody(ref('ReplaceWalletsRequest')),
        responses: {
          200: ok('The AP with its new wallets.', ref('AuthorizedParticipant')),
          404: apNotFound,
          409: errorResponse('A wallet is registered to another AP.', { codes: ['wallet_already_registered'] }),
        },
      },
      { description: 'The body failed validation, or a wallet address is not valid for its network.', validation: true, codes: ['invalid_wallet'] },
    ),
  },
  '/operator/assets': {
    get: read({
      operationId: 'listAssets',
      summary: 'Every tokenized asset, enabled or not',
      responses: { 200: ok('The assets.', object({ assets: { type: 'array', items: ref('TokenizedAsset') } })) },
    }),
    post: write(
      {
        operationId: 'addAsset',
        summary: 'Register a tokenized asset',
        requestBody: jsonBody(ref('AddAssetRequest')),
        responses: {
          201: asset('Registered.'),
          409: errorResponse('This token symbol is already registered on this network.', { codes: ['asset_already_exists'] }),
        },
      },
      { description: 'The body failed validation, the network is not supported, or the vault address is not valid.', validation: true, codes: ['network_not_supported', 'invalid_vault_address'] },
    ),
  },
  '/operator/assets/{assetId}': {
    patch: write(
      {
        operationId: 'updateAsset',
        summary: "Change an asset's symbols, vault or decimals",
        parameters: [assetId],
        requestBody: jsonBody(ref('UpdateAssetRequest')),
        responses: {
          200: asset('The asset after the change.'),
          404: assetNotFound,
          409: errorResponse('Another asset already has this token symbol on this network.', { codes: ['asset_already_exists'] }),
        },
      },
      { description: 'The body failed validation (or changes nothing), or the vault address is not valid.', validation: true, codes: ['invalid_vault_address'] },
    ),
  },
  '/operator/assets/{assetId}/enable': { post: assetSwitch('enableAsset', 'Offer the asset to Alpaca again') },
  '/operator/assets/{assetId}/disable': { post: assetSwitch('disableAsset', 'Stop offering the asset to Alpaca') },
  '/operator/assets/{assetId}/halt': {
    post: write(
      {
        operationId: 'haltAsset',
        summary: 'Halt new mints and redemptions of the asset (flows under way carry on)',
        parameters: [assetId],
        requestBody: jsonBody(ref('HaltAssetRequest')),
        responses: { 200: asset('The halted asset.'), 404: assetNotFound },
      },
      { description: 'The body failed validation.', validation: true },
    ),
  },
  '/operator/assets/{assetId}/resume': { post: assetSwitch('resumeAsset', 'Lift a halt') },

  '/operator/flows': {
    get: read(
      {
        operationId: 'listFlows',
        summary: 'Flows, most recently changed first, a page at a time',
        description: 'Filters combine. An unknown query parameter is refused, so a misspelt filter never lists every flow.',
        parameters: [
          query('type', 'Only flows of this type (`mint`, `redemption`).', { type: 'string', maxLength: 40 }),
          query('state', 'Only flows in this state, or under this parent state (`minting` lists `minting.submitting` and `minting.confirming`).', { type: 'string', minLength: 1, maxLength: 200 }),
          query('tag', 'Only flows whose state carries this tag (`approvalPending`: mints held for approval; see `FlowTags`).', { type: 'string', minLength: 1, maxLength: 60 }),
          query('asset', 'Only flows of this token or underlying symbol, any case (`tAAPL`, `AAPL`).', { type: 'string', minLength: 1, maxLength: 40 }),
          query('needs_operator', 'Only flows that need (`true`) or do not need (`false`) a person.', { type: 'string', enum: ['true', 'false'] }),
          query('stuck', '`true`: only active flows with no event for `stuck_minutes`.', { type: 'string', enum: ['true', 'false'] }),
          query('stuck_minutes', 'With `stuck=true`: how long without an event counts as stuck.', { type: 'integer', minimum: 1, maximum: 525600, default: 30 }),
          query('older_than', 'Only flows created at least this many seconds ago.', { type: 'integer', minimum: 0, maximum: 315360000 }),
          query('since', 'Only flows created at or after this instant (ISO 8601 with an offset).', { type: 'string', format: 'date-time' }),
          query('limit', 'At most this many flows.', { type: 'integer', minimum: 1, maximum: 500, default: 100 }),
          query('cursor', "The previous page's `next_cursor`.", { type: 'string', maxLength: 400 }),
        ],
        responses: {
          200: ok(
            'A page of flows.',
            object({ flows: { type: 'array', items: ref('FlowSummary') }, next_cursor: { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'Pass as `cursor` for the next page; null on the last page.' } }),
          ),
        },
      },
      'A query parameter failed validation (or is not one this endpoint takes).',
    ),
  },
  '/operator/flows/{flowId}': {
    get: read({
      operationId: 'getFlow',
      summary: 'One flow: its snapshot, the operator events it takes, its journal (raw and as a timeline), outbox effects and timers',
      parameters: [flowId],
      responses: { 200: ok('The flow.', ref('FlowDetail')), 404: flowNotFound },
    }),
  },
  '/operator/flows/{flowId}/events': {
    post: write(
      {
        operationId: 'sendOperatorEvent',
        summary: "Send an operator's decision (an `OPERATOR_*` event) to a flow",
        description: 'Only `OPERATOR_*` events; the state the flow is in names the ones it takes. The event is journaled under the operator who sent it.',
        parameters: [flowId],
        requestBody: jsonBody(
          object(
            {
              type: { type: 'string', maxLength: 60, pattern: '^OPERATOR_[A-Z_]+$', examples: ['OPERATOR_RETRY_MINT', 'OPERATOR_RETURN_TO_SENDER', 'OPERATOR_CLOSE'] },
              note: { type: 'string', maxLength: 1000 },
            },
            ['type'],
          ),
        ),
        responses: {
          200: ok('The flow after the event.', object({ flow: ref('Flow') })),
          404: flowNotFound,
          409: errorResponse('The flow is in a state that does not take this event (it lists the operator events it does take), or the operator who gave a mint its first approval tried to give the second; nothing was written.', {
            shapes: [
              object({ code: { const: 'event_not_accepted' }, message: text, state: text, event: text, operator_events: ref('OperatorEvents') }),
              object({ code: { const: 'same_operator_cannot_approve' }, message: text, state: text, event: { const: 'OPERATOR_APPROVE' }, approved_by: text }),
            ],
          }),
        },
      },
      { description: 'The body failed validation (only `OPERATOR_*` events, no other fields).', validation: true },
    ),
  },
  '/operator/flows/{flowId}/effects/{effectId}/retry': {
    post: write(
      {
        operationId: 'retryEffectNow',
        summary: 'Run a pending effect now instead of at the end of its backoff',
        description: [
          'Only a pending effect can be brought forward; the attempt counts against its retry budget.',
          "An effect that failed for good has told its flow, which waits for the machine's own `OPERATOR_RETRY*` event (the 409 names it).",
          "Not a flow event: the operator's id is written on the outbox row and logged.",
        ].join(' '),
        parameters: [flowId, pathParam('effectId', 'The outbox row id (a ULID), as listed by GET /operator/flows/{flowId}.')],
        requestBody: { required: false, content: json(object({ note: { type: 'string', maxLength: 1000 } }, [])) },
        responses: {
          200: ok('The effect is due now (or already was).', {
            oneOf: [object({ outcome: { const: 'already_due' }, effect: ref('FlowEffect') }), object({ outcome: { const: 'made_due' }, operator: text, effect: ref('FlowEffect') })],
          }),
          404: errorResponse('No such flow, or the flow has no such effect.', { codes: ['flow_not_found', 'effect_not_found'] }),
          409: errorResponse('The effect cannot be brought forward in its present status.', {
            codes: ['effect_changed'],
            shapes: [
              object({ code: { enum: ['effect_already_done', 'effect_running'] }, message: text, status: ref('OutboxEffectStatus') }),
              object({ code: { const: 'effect_cancelled' }, message: text, status: ref('OutboxEffectStatus'), state: text }),
              object({ code: { const: 'effect_failed_use_operator_event' }, message: text, status: ref('OutboxEffectStatus'), state: text, operator_events: ref('OperatorEvents') }),
            ],
          }),
        },
      },
      { description: 'The body failed validation (only `note`).', validation: true },
    ),
  },
  '/operator/outbox': {
    get: read(
      {
        operationId: 'listOutboxEffects',
        summary: 'Outbox effects by status (the latest 200)',
        parameters: [query('status', 'Which effects.', { ...ref('OutboxEffectStatus'), default: 'failed' })],
        responses: { 200: ok('The effects, most recent first.', object({ effects: { type: 'array', items: ref('OutboxEffect') } })) },
      },
      'A query parameter failed validation.',
    ),
  },
  '/operator/receipts': {
    get: read(
      {
        operationId: 'listReceipts',
        summary: 'The ERC-1155 receipts the issuer holds, optionally checked against the chain',
        parameters: [query('verify', '`chain`: compare each row with the receipt contract balance.', { type: 'string', enum: ['chain'] })],
        responses: {
          200: ok(
            'The receipts; with `verify=chain` (and a connected chain) each row carries its on-chain balance and the count of mismatches.',
            {
              oneOf: [
                object({ receipts: { type: 'array', items: ref('Receipt') } }),
                object({ receipts: { type: 'array', items: ref('CheckedReceipt') }, mismatches: { type: 'integer', minimum: 0 } }),
              ],
            },
          ),
        },
      },
      'A query parameter failed validation.',
    ),
  },
  '/operator/metrics': {
    get: read({
      operationId: 'getOperatorMetrics',
      summary: 'Prometheus metrics, behind the operator token',
      responses: { 200: { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
    }),
  },
};

/** The Prometheus scrape endpoint at the root, with its own token (or an operator's). */
export const metricsPaths: Paths = {
  '/metrics': {
    get: {
      operationId: 'getMetrics',
      summary: 'Prometheus metrics: flows, outbox, timers, poller lag, confirmations, Alpaca latency, request durations, process',
      tags: ['operator'],
      security: metricsSecurity,
      responses: {
        200: { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } },
        ...OPERATOR_GATE,
      },
    },
  },
};
