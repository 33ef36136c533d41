import { z } from 'zod';
import { changeLimitsBody, pauseBody, replaceLimitsBody, resumeBody } from '../schemas/controls';
import { type ErrorShapes, errorResponse, type JsonSchema, jsonBody, mergeErrors, nullable, object, ok, type Operation, type Paths, pathParam, responseRef } from './building-blocks';
import { BODY_ERRORS_400, operatorSecurity } from './components';

/** What the gate in front of every operator route answers: allow-list, bearer token, rate limits. */
const OPERATOR_GATE = { 401: responseRef('OperatorUnauthorized'), 403: responseRef('NotAllowedAddress'), 429: responseRef('RateLimited'), 500: responseRef('InternalError') };

const text: JsonSchema = { type: 'string' };
const isoTime: JsonSchema = { type: 'string', format: 'date-time' };
/** A quantity of the underlying, as Alpaca writes it (at most 9 decimal places). */
const quantity: JsonSchema = { type: 'string', pattern: '^(0|[1-9][0-9]*)(\\.[0-9]{1,9})?$' };
const limit = (description: string): JsonSchema => ({ ...nullable(quantity), description });

/** The request schemas the handlers parse with, as JSON Schema (what a caller sends). */
function fromZod(schema: z.ZodType, description: string, extra: JsonSchema = {}): JsonSchema {
  const { $schema: _dialect, ...body } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  return { ...body, description, ...extra };
}

const issuance = object(
  {
    paused: { type: 'boolean' },
    pause_reason: nullable(text),
    changed_by: { ...nullable(text), description: 'The operator who last paused or resumed issuance.' },
    changed_at: nullable(isoTime),
  },
  undefined,
  { description: 'The emergency pause: while paused, mint requests are refused (`issuance_paused`) and no chain transaction is signed or sent; redemptions are still detected.' },
);

const assetControls = object(
  {
    asset_id: text,
    underlying_symbol: text,
    token_symbol: text,
    network: text,
    max_request_qty: limit('A mint request above this quantity is refused (`quantity_above_limit`). Null: no maximum.'),
    daily_mint_cap: limit("A mint request that would take the asset's accepted mints of the UTC day above this is refused (`daily_mint_cap_exceeded`). Null: no cap."),
    daily_redemption_cap: limit("A detected redemption that would take the asset's redemptions of the UTC day above this is held for an operator (`dailyCapExceeded`). Null: no cap."),
    approval_threshold: limit('A mint above this quantity waits, after its journal is confirmed, for two different operators to approve it. Null: no approval needed.'),
    minted_today: { ...quantity, description: 'Accepted mints of the current UTC day, rejected ones aside (what the daily mint cap counts).' },
    redeemed_today: { ...quantity, description: 'Redemptions of the current UTC day Alpaca was asked for (what the daily redemption cap counts).' },
    updated_by: { ...nullable(text), description: 'The operator who last changed these limits (null: never set).' },
    updated_at: nullable(isoTime),
  },
  undefined,
  { description: "One asset's risk limits, quantities of the underlying." },
);

const assetNotFound = errorResponse('No such asset.', { codes: ['asset_not_found'] });

function read(op: Omit<Operation, 'security' | 'tags'>): Operation {
  return { ...op, tags: ['operator'], security: operatorSecurity, responses: { ...op.responses, ...OPERATOR_GATE } };
}

function write(op: Omit<Operation, 'security' | 'tags'>, badRequest: { description: string } & ErrorShapes): Operation {
  return {
    ...op,
    tags: ['operator'],
    security: operatorSecurity,
    responses: { ...op.responses, 400: mergeErrors(badRequest.description, BODY_ERRORS_400, badRequest), ...OPERATOR_GATE, 413: responseRef('BodyTooLarge'), 415: responseRef('UnsupportedMediaType') },
  };
}

const CHANGE_NOTE = 'Journaled as a `controls` event carrying the operator and the values before and after; a change that changes nothing writes nothing (`changed: false`).';

function setLimits(operationId: string, summary: string, body: JsonSchema): Operation {
  return write(
    {
      operationId,
      summary,
      description: CHANGE_NOTE,
      parameters: [pathParam('assetId', 'The asset id (a ULID).')],
      requestBody: jsonBody(body),
      responses: { 200: ok("The asset's limits after the change.", object({ changed: { type: 'boolean' }, asset: assetControls })), 404: assetNotFound },
    },
    { description: 'The body failed validation.', validation: true },
  );
}

const pauseChange = (description: string) => ok(description, object({ changed: { type: 'boolean' }, issuance }));

/** The operators' risk controls: the emergency pause and each asset's limits. */
export const controlsPaths: Paths = {
  '/operator/controls': {
    get: read({
      operationId: 'getRiskControls',
      summary: 'The emergency pause, and every asset with its limits and what they count today (UTC)',
      responses: { 200: ok('The controls.', object({ issuance, day: { type: 'string', format: 'date', description: 'The current UTC day, which the daily caps count.' }, assets: { type: 'array', items: assetControls } })) },
    }),
  },
  '/operator/controls/assets/{assetId}': {
    put: setLimits('replaceAssetLimits', "Set all of an asset's limits (null lifts one)", fromZod(replaceLimitsBody, 'Every limit, each a quantity of the underlying or null for none.')),
    patch: setLimits('changeAssetLimits', "Change some of an asset's limits (null lifts one)", fromZod(changeLimitsBody, 'The limits to change; at least one.', { minProperties: 1 })),
  },
  '/operator/controls/pause': {
    post: write(
      {
        operationId: 'pauseIssuance',
        summary: 'Emergency pause: refuse new mint requests and hold every chain transaction (mint, burn, return)',
        description: `Every instance obeys it at its next look at the outbox; an effect already running finishes. Redemptions are still detected. ${CHANGE_NOTE}`,
        requestBody: jsonBody(fromZod(pauseBody, 'Why issuance is paused (kept in the journal; never shown to Alpaca).')),
        responses: { 200: pauseChange('Paused (or already paused: unchanged).') },
      },
      { description: 'The body failed validation.', validation: true },
    ),
  },
  '/operator/controls/resume': {
    post: write(
      {
        operationId: 'resumeIssuance',
        summary: 'Lift the emergency pause: mint requests are accepted and held chain transactions run',
        description: CHANGE_NOTE,
        requestBody: { required: false, content: { 'application/json': { schema: fromZod(resumeBody, 'An optional note, kept in the journal.') } } },
        responses: { 200: pauseChange('Resumed (or not paused: unchanged).') },
      },
      { description: 'The body failed validation.', validation: true },
    ),
  },
};
