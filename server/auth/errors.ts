/**
 * Authentication failures raised by the middlewares in `server/auth/`.
 *
 * Every failure is a 401 with a stable machine-readable `code`; the HTTP layer renders it as
 * `{ code, message }`. Messages are fixed strings chosen here: they never contain the API key,
 * the operator token, a signature, or any value copied from the request.
 */

import { DomainError, type ErrorCode } from '../../core/errors';

export const AUTH_ERROR_CODES = [
  /** No credential of an accepted scheme was presented (no X-API-KEY, no Signature/Signature-Input, no Bearer). */
  'missing_credentials',
  /** X-API-KEY was presented but does not match. */
  'invalid_api_key',
  /** Signature-Input / Signature could not be parsed, or lacks a required parameter (keyid, created, nonce). */
  'malformed_signature',
  /** The keyid in Signature-Input is not one of the configured verification keys. */
  'unknown_key_id',
  /** The signature declares an algorithm other than ed25519. */
  'unsupported_algorithm',
  /** The signature does not cover the components required for this request. */
  'insufficient_coverage',
  /** The Ed25519 signature does not verify over the reconstructed signature base. */
  'invalid_signature',
  /** `created` is older than the allowed age, too far in the future, or `expires` has passed. */
  'stale_signature',
  /** The (keyid, nonce) pair was already accepted once. */
  'replayed_nonce',
  /** Content-Digest is missing, malformed, or does not match the raw body bytes. */
  'content_digest_mismatch',
  /** The operator bearer token is wrong. */
  'invalid_operator_token',
] as const satisfies readonly ErrorCode[];

export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

const DEFAULT_MESSAGES: Readonly<Record<AuthErrorCode, string>> = {
  missing_credentials: 'Authentication credentials are missing',
  invalid_api_key: 'The API key is invalid',
  malformed_signature: 'The HTTP message signature headers are malformed',
  unknown_key_id: 'The signature key id is not recognised',
  unsupported_algorithm: 'The signature algorithm is not supported',
  insufficient_coverage: 'The signature does not cover the required components',
  invalid_signature: 'The HTTP message signature is invalid',
  stale_signature: 'The signature is outside its validity window',
  replayed_nonce: 'The signature nonce has already been used',
  content_digest_mismatch: 'The Content-Digest does not match the request body',
  invalid_operator_token: 'The operator token is invalid',
};

/** Every authentication failure is answered 401 ("Unauthorized"; server/http-status.ts). */
export class AuthError extends DomainError {
  override readonly name = 'AuthError';
  /** Koa convention: the message is safe to show to the client. */
  readonly expose = true as const;
  declare readonly code: AuthErrorCode;
  /** Response headers to send with the 401 (e.g. WWW-Authenticate); the error handler sends them. */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(code: AuthErrorCode, message?: string, headers?: Readonly<Record<string, string>>) {
    super(code, message ?? DEFAULT_MESSAGES[code]);
    this.headers = headers;
  }

  toJSON(): { code: AuthErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isAuthError(err: unknown): err is AuthError {
  return err instanceof AuthError;
}
