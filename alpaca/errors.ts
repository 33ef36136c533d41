/**
 * What went wrong with one call to Alpaca.
 *
 * - `http`: Alpaca (or something in front of it) answered with a non-2xx status.
 * - `network`: no answer at all (connection refused or reset, DNS failure).
 * - `timeout`: no complete answer within the client's `timeoutMs`. Ambiguous: Alpaca may have acted.
 * - `invalid_response`: a 2xx whose body is not what the docs describe.
 * - `invalid_request`: we refused to send it (bad idempotency key, both client ids, …). A bug or bad data.
 * - `auth`: the OAuth token endpoint refused us or could not be reached.
 */
export type AlpacaErrorKind = 'http' | 'network' | 'timeout' | 'invalid_response' | 'invalid_request' | 'auth';

export interface AlpacaApiErrorInit {
  /** The HTTP status Alpaca answered; 0 when there was no HTTP answer (network, timeout, not sent). */
  status: number;
  /** Alpaca's 8-digit error code from the `{ code, message }` body, when it sent one. */
  alpacaCode?: number;
  kind?: AlpacaErrorKind;
  /** Overrides the default classification (see `isRetryableStatus`). */
  retryable?: boolean;
}

/** True for the statuses worth retrying later with the same request: 408, 429 and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * A failed call to Alpaca. `retryable` is true for network errors, timeouts, 408, 429 and 5xx, false
 * for every other 4xx and for requests we refused to send. Messages name the method, the path
 * (without the account id or query) and Alpaca's message; never a credential, header or token.
 */
export class AlpacaApiError extends Error {
  readonly status: number;
  readonly alpacaCode?: number;
  readonly kind: AlpacaErrorKind;
  readonly retryable: boolean;

  constructor(message: string, init: AlpacaApiErrorInit) {
    super(message);
    this.name = 'AlpacaApiError';
    this.status = init.status;
    if (init.alpacaCode !== undefined) this.alpacaCode = init.alpacaCode;
    this.kind = init.kind ?? (init.status === 0 ? 'network' : 'http');
    this.retryable =
      init.retryable ??
      (this.kind === 'invalid_request' || this.kind === 'invalid_response' ? false : init.status === 0 ? true : isRetryableStatus(init.status));
  }
}

export const isAlpacaApiError = (err: unknown): err is AlpacaApiError => err instanceof AlpacaApiError;
