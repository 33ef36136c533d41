import { DomainError, type ErrorCode } from '../core/errors';

/**
 * How each catalogued error is answered over HTTP: the only place a status is chosen for a code
 * (a new code without a status here does not compile).
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  bad_request: 400,
  invalid_request: 400,
  unreadable_body: 400,
  malformed_json: 400,
  body_too_large: 413,
  unsupported_media_type: 415,
  invalid_characters: 400,
  rate_limited: 429,
  ip_not_allowed: 403,
  route_not_found: 404,
  method_not_allowed: 405,
  missing_credentials: 401,
  invalid_api_key: 401,
  malformed_signature: 401,
  unknown_key_id: 401,
  unsupported_algorithm: 401,
  insufficient_coverage: 401,
  invalid_signature: 401,
  stale_signature: 401,
  replayed_nonce: 401,
  content_digest_mismatch: 401,
  invalid_operator_token: 401,
  flow_not_found: 404,
  flow_already_exists: 409,
  event_not_accepted: 409,
  same_operator_cannot_approve: 409,
  effect_not_found: 404,
  effect_already_done: 409,
  effect_cancelled: 409,
  effect_failed_use_operator_event: 409,
  effect_running: 409,
  effect_changed: 409,
  invalid_payload: 400,
  client_not_eligible: 400,
  token_not_available: 400,
  asset_halted: 400,
  invalid_wallet_address: 400,
  wallet_not_registered: 400,
  tokenization_request_id_reused: 409,
  tokenization_request_not_found: 404,
  issuer_request_id_mismatch: 422,
  client_mismatch: 422,
  journal_already_recorded: 409,
  issuance_paused: 400,
  quantity_above_limit: 400,
  daily_mint_cap_exceeded: 400,
  account_not_found: 404,
  account_already_linked: 409,
  ap_not_found: 404,
  ap_already_registered: 409,
  invalid_wallet: 400,
  wallet_already_registered: 409,
  asset_not_found: 404,
  asset_already_exists: 409,
  network_not_supported: 400,
  invalid_vault_address: 400,
  file_not_found: 404,
  chart_not_found: 404,
  too_many_streams: 429,
  internal_error: 500,
};

/** The status a thrown error is answered with: a catalogued error's, or a Koa/router HTTP error's own. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof DomainError) return HTTP_STATUS[err.code];
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}
