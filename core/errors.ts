/**
 * The one catalogue of errors a caller may see: each has a stable `code` (what clients branch on) and
 * a line saying when it is raised. How a code is answered over HTTP (its status) is the server's
 * business alone (`server/http-status.ts`); code below the server only says what went wrong.
 * Messages are safe to show: no secrets, no internals.
 */
export const ERROR_CATALOGUE = {
  // The request itself
  bad_request: 'A malformed path, query or request line.',
  invalid_request: 'The body or query failed validation.',
  unreadable_body: 'The request body could not be read.',
  malformed_json: 'The request body is not valid JSON.',
  body_too_large: 'The request body exceeds the configured limit.',
  unsupported_media_type: 'The request body is not application/json.',
  invalid_characters: 'A text field holds a NUL or an untranslatable character.',
  rate_limited: 'Too many requests, or too many failed authentications, from one caller.',
  ip_not_allowed: 'The caller address is not on the endpoint\'s allow-list.',
  route_not_found: 'No route for this method and path.',
  method_not_allowed: 'The path exists, the method does not.',
  // Authentication (always answered with a challenge)
  missing_credentials: 'No credential of an accepted scheme was presented.',
  invalid_api_key: 'X-API-KEY was presented but does not match.',
  malformed_signature: 'Signature-Input / Signature could not be parsed or lack a parameter.',
  unknown_key_id: 'The signature keyid is not a configured verification key.',
  unsupported_algorithm: 'The signature declares an algorithm other than ed25519.',
  insufficient_coverage: 'The signature does not cover the components this request needs.',
  invalid_signature: 'The Ed25519 signature does not verify.',
  stale_signature: 'The signature is outside its validity window.',
  replayed_nonce: 'The (keyid, nonce) pair was already accepted once.',
  content_digest_mismatch: 'Content-Digest is missing, malformed or does not match the body.',
  invalid_operator_token: 'The operator bearer token is wrong.',
  // Flows
  flow_not_found: 'No flow with this id.',
  flow_already_exists: 'A flow with this id was started already.',
  event_not_accepted: 'The flow\'s current state does not take this event; nothing was written.',
  same_operator_cannot_approve: 'Four eyes: the first approver may not give the second approval.',
  effect_not_found: 'The flow has no effect with this id.',
  effect_already_done: 'The effect is done; there is nothing to retry.',
  effect_cancelled: 'The effect was superseded when its flow left the state that asked for it.',
  effect_failed_use_operator_event: 'The effect failed for good and its flow was told; an operator event resumes it.',
  effect_running: 'The effect is being performed right now.',
  effect_changed: 'The effect changed while an operator retried it.',
  // Mint requests (Alpaca's documented reasons, each with its own code)
  invalid_payload: 'Failed Validation: Invalid data payload.',
  client_not_eligible: 'Insufficient Eligibility: the client is not linked.',
  token_not_available: 'Invalid Token: the token is not available on the network.',
  asset_halted: 'The asset is halted.',
  invalid_wallet_address: 'The wallet address is not valid for the network.',
  wallet_not_registered: 'Invalid Wallet: the wallet does not belong to the client.',
  tokenization_request_id_reused: 'A tokenization_request_id was used again with another body.',
  tokenization_request_not_found: 'A confirm names no mint request we hold.',
  issuer_request_id_mismatch: 'A confirm\'s issuer_request_id does not match the request.',
  client_mismatch: 'A confirm\'s client id does not match the request.',
  journal_already_recorded: 'The journal was already recorded with the other status.',
  issuance_paused: 'Issuance is paused: new mint requests are refused.',
  quantity_above_limit: 'The quantity is above the asset\'s per-request maximum.',
  daily_mint_cap_exceeded: 'The mint would exceed the asset\'s daily mint cap.',
  // Registry
  account_not_found: 'No authorized participant is registered with this e-mail.',
  account_already_linked: 'The account is already linked.',
  ap_not_found: 'No such authorized participant.',
  ap_already_registered: 'An authorized participant with this e-mail or wallet exists.',
  invalid_wallet: 'Not a valid wallet address for the network.',
  wallet_already_registered: 'The wallet is registered to another authorized participant.',
  asset_not_found: 'No such tokenized asset.',
  asset_already_exists: 'The token is already registered on the network.',
  network_not_supported: 'The network is not one this issuer serves.',
  invalid_vault_address: 'The vault address is not a valid contract address.',
  // Console
  file_not_found: 'The console has no such file.',
  chart_not_found: 'No state chart for this flow type.',
  too_many_streams: 'Too many open journal streams.',
  // The service
  internal_error: 'Anything else: logged with the request id, never shown.',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error a caller may see: a catalogued code, a safe message, and optional safe details. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class FlowNotFoundError extends DomainError {
  constructor(flowId: string) {
    super('flow_not_found', `No flow ${flowId}`);
  }
}

export class FlowAlreadyExistsError extends DomainError {
  constructor(flowId: string) {
    super('flow_already_exists', `Flow ${flowId} already exists`);
  }
}

/** The flow's current state does not accept this event; nothing was written. */
export class EventNotAcceptedError extends DomainError {
  constructor(flowId: string, eventType: string, state: string) {
    super('event_not_accepted', `Flow ${flowId} in state ${state} does not accept ${eventType}`, { state, event: eventType });
  }
}

/** Another writer advanced the flow between our read and our write; the host retries. */
export class ConcurrencyConflictError extends Error {
  constructor(readonly flowId: string) {
    super(`Concurrent write to flow ${flowId}`);
  }
}
