import { type ErrorShapes, errorResponse, jsonBody, mergeErrors, object, ok, type Operation, type Paths, ref, responseRef } from './building-blocks';
import { alpacaSecurity, BODY_ERRORS_400 } from './components';

/** Alpaca's documented mint rejection reasons (Tokenization Guide for Issuer), each with our stable code. */
const PAYLOAD = 'Failed Validation: Invalid data payload';
const MINT_REJECTIONS: ErrorShapes = {
  reasons: [
    { code: 'invalid_payload', message: PAYLOAD },
    { code: 'invalid_wallet_address', message: PAYLOAD },
    { code: 'wallet_not_registered', message: 'Invalid Wallet: Wallet does not belong to client' },
    { code: 'token_not_available', message: 'Invalid Token: Token not available on the network' },
    { code: 'client_not_eligible', message: 'Insufficient Eligibility: Client not eligible' },
    { code: 'asset_halted', messagePattern: '^Asset Halted: ' },
    // The risk controls (README: Risk controls); a refused request writes nothing.
    { code: 'issuance_paused', messagePattern: '^Issuance Paused: ' },
    { code: 'quantity_above_limit', messagePattern: '^Quantity Above Limit: ' },
    { code: 'daily_mint_cap_exceeded', messagePattern: '^Daily Mint Cap Exceeded: ' },
  ],
};

const SEEDS_NOTE = "The seeds' path, kept for issuers onboarded earlier; served by the same handler as the current path.";

/** What the gate in front of every Alpaca-facing route answers: allow-list, auth, rate limits. */
const ALPACA_GATE = { 401: responseRef('AlpacaUnauthorized'), 403: responseRef('NotAllowedAddress'), 429: responseRef('RateLimited') };

/** An Alpaca-facing write: its own answers, its 400s merged with the body reader's, and what every write may get. */
function alpacaWrite(op: Omit<Operation, 'security' | 'tags'>, badRequest: { description: string } & ErrorShapes): Operation {
  return {
    ...op,
    tags: ['alpaca'],
    security: alpacaSecurity,
    responses: {
      ...op.responses,
      400: mergeErrors(badRequest.description, BODY_ERRORS_400, badRequest),
      ...ALPACA_GATE,
      413: responseRef('BodyTooLarge'),
      415: responseRef('UnsupportedMediaType'),
      500: responseRef('InternalError'),
    },
  };
}

function alpacaRead(op: Omit<Operation, 'security' | 'tags'>): Operation {
  return { ...op, tags: ['alpaca'], security: alpacaSecurity, responses: { ...op.responses, ...ALPACA_GATE, 500: responseRef('InternalError') } };
}

function connect(operationId: string, idField: 'client_external_account_id' | 'client_id', description?: string): Operation {
  return alpacaWrite(
    {
      operationId,
      summary: "Link an AP's Alpaca account",
      ...(description ? { description } : {}),
      requestBody: jsonBody(ref('ConnectAccountRequest')),
      responses: {
        200: ok('Linked (or already linked to the same account): our id for the AP.', object({ [idField]: { type: 'string' } })),
        404: errorResponse('No AP is registered with this e-mail.', { codes: ['account_not_found'] }),
        409: errorResponse('The AP is linked to another account, or the account to another AP.', { codes: ['account_already_linked'] }),
      },
    },
    { description: 'The body failed validation.', validation: true },
  );
}

function mintRequest(operationId: string, description?: string): Operation {
  return alpacaWrite(
    {
      operationId,
      summary: 'Request a mint',
      description: [
        'Starts a mint flow; the answer leaves after the flow is journaled. A repeat with the same body answers the original `issuer_request_id`.',
        description,
      ]
        .filter(Boolean)
        .join(' '),
      requestBody: jsonBody(ref('MintRequest')),
      responses: {
        200: ok('Accepted (or a repeat of an accepted request).', object({ issuer_request_id: { type: 'string', format: 'uuid' }, status: { const: 'created' } })),
        409: errorResponse('This tokenization_request_id was already used with a different body.', { codes: ['tokenization_request_id_reused'] }),
      },
    },
    { description: "Refused, with one of Alpaca's documented reason strings as `message` (or a body the reader could not take).", ...MINT_REJECTIONS },
  );
}

function mintConfirm(operationId: string, description?: string): Operation {
  return alpacaWrite(
    {
      operationId,
      summary: "Confirm (or reject) a mint's journal",
      description: [
        'A `completed` journal lets the mint go on chain; `rejected` ends it with nothing minted. A repeat with the same status answers the same 200 and mints nothing more.',
        description,
      ]
        .filter(Boolean)
        .join(' '),
      requestBody: jsonBody(ref('MintConfirmRequest')),
      responses: {
        200: ok(
          'Recorded (or a repeat of the recorded status).',
          object({ tokenization_request_id: { type: 'string' }, issuer_request_id: { type: 'string' }, status: { enum: ['completed', 'rejected'] } }),
        ),
        404: errorResponse('No mint request with this tokenization_request_id.', { codes: ['tokenization_request_not_found'] }),
        409: errorResponse('The journal was already recorded with the other status, or the flow no longer takes a journal (closed by an operator).', {
          codes: ['journal_already_recorded'],
          eventNotAccepted: true,
        }),
        422: errorResponse('The issuer_request_id or the client id does not match the mint request.', { codes: ['issuer_request_id_mismatch', 'client_mismatch'] }),
      },
    },
    { description: "The body failed validation (Alpaca's reason string as `message`).", reasons: [{ code: 'invalid_payload', message: PAYLOAD }] },
  );
}

const currentTokens = object({
  tokens: {
    type: 'array',
    items: object({ underlying: { type: 'string' }, token: { type: 'string' }, networks: { type: 'array', items: { type: 'string' }, minItems: 1 } }),
  },
});
const seedsTokens = { type: 'array', items: object({ underlying_symbol: { type: 'string' }, token_symbol: { type: 'string' }, network: { type: 'string' } }) };

/** The endpoints Alpaca calls, at its current paths and at the seeds' paths. */
export const alpacaPaths: Paths = {
  '/tokenization/accounts/connect': { post: connect('connectAccount', 'client_external_account_id') },
  '/accounts/connect': { post: connect('connectAccountSeedPath', 'client_id', `${SEEDS_NOTE} Answers the legacy field name \`client_id\`.`) },
  '/tokenization/tokens': {
    get: alpacaRead({
      operationId: 'listTokens',
      summary: 'The tokens Alpaca may mint: enabled and not halted, networks grouped per token',
      responses: { 200: ok('The tokens.', currentTokens) },
    }),
  },
  '/tokenized-assets': {
    get: alpacaRead({
      operationId: 'listTokensSeedPath',
      summary: 'The tokens Alpaca may mint, one row per network',
      description: `${SEEDS_NOTE} Answers the seeds' bare array.`,
      responses: { 200: ok('The tokens.', seedsTokens) },
    }),
  },
  '/tokenization/mint': { post: mintRequest('requestMint') },
  '/inkind/issuance': { post: mintRequest('requestMintSeedPath', SEEDS_NOTE) },
  '/tokenization/mint/confirm': { post: mintConfirm('confirmMintJournal') },
  '/inkind/issuance/confirm': { post: mintConfirm('confirmMintJournalSeedPath', SEEDS_NOTE) },
};
