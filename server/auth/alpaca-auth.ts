/**
 * Koa middleware authenticating Alpaca's calls to the Issuer endpoints.
 *
 * Alpaca supports two schemes, agreed per Issuer at onboarding (Tokenization Guide for Issuer,
 * "Authentication"): a shared API key in `X-API-KEY`, or RFC 9421 HTTP Message Signatures with
 * Ed25519 and an RFC 9530 Content-Digest. Configure one (or both, e.g. while migrating):
 *
 * - only `apiKey`: every request must carry the right `X-API-KEY`;
 * - only `signatureKeys`: every request must carry a valid `sig` signature;
 * - both: a request carrying `Signature-Input`/`Signature` is judged by its signature alone (no
 *   fallback to the API key when the signature fails); otherwise by its `X-API-KEY`.
 *
 * Any failure throws an `AuthError` (status 401, stable `code`). Errors of our own (nonce store
 * down, body reader missing) are thrown as they are, so they become 5xx — Alpaca retries 5xx but
 * treats every 4xx as final.
 *
 * Reconstructing `@target-uri`
 * ----------------------------
 * The signature covers the full URI Alpaca addressed, e.g. `https://issuer.example.com/tokenization/mint`.
 * Behind a TLS-terminating proxy our process sees `http://10.0.0.5:3000/tokenization/mint`, so:
 *
 * 1. Preferred: set `publicBaseUrl` to the externally visible origin (plus any path prefix the
 *    proxy strips), e.g. `https://issuer.example.com` or `https://api.example.com/issuer`.
 *    The target URI is then `publicBaseUrl` (trailing `/` removed) + the request's original
 *    path and query exactly as received (`ctx.originalUrl`). Forwarded headers are ignored.
 * 2. Otherwise it is `${ctx.protocol}://${ctx.host}${ctx.originalUrl}`. With `app.proxy = true`
 *    Koa takes the scheme from `X-Forwarded-Proto` and the host from `X-Forwarded-Host` (else
 *    `Host`); only enable that when the proxy overwrites those headers. Without `app.proxy` the
 *    scheme is the socket's (http unless Koa itself serves TLS) and the host is `Host`.
 *
 * A wrong reconstruction can only make valid signatures fail (401 invalid_signature), never
 * make an invalid one pass.
 *
 * The raw body comes from `ctx.state.rawBody` (a Buffer set by the body-reading middleware that
 * must run before this one); GET/HEAD requests may leave it unset.
 */
import type { Middleware, ParameterizedContext } from 'koa';
import type { KeyObject } from 'node:crypto';
import { API_KEY_HEADER, apiKeyMatches } from './api-key';
import { AuthError } from './errors';
import {
  DEFAULT_CLOCK_SKEW_SECONDS,
  SIGNATURE_HEADER,
  SIGNATURE_INPUT_HEADER,
  assertEd25519PublicKey,
  verifyRequest,
} from './http-signature';
import type { NonceStore } from './nonce-store';

export interface AlpacaAuthConfig {
  /** Shared secret Alpaca sends in X-API-KEY. */
  apiKey?: string;
  /** Ed25519 public keys by keyid (several during a rotation). */
  signatureKeys?: ReadonlyMap<string, KeyObject>;
  /** Externally visible base URL used to rebuild @target-uri, e.g. `https://issuer.example.com`. */
  publicBaseUrl?: string;
  /** Oldest acceptable signature `created`, in seconds. */
  maxAgeSeconds: number;
  nonceStore: NonceStore;
  /** Tolerance for `created` in the future. Default 10 s. */
  clockSkewSeconds?: number;
  /** Clock in epoch ms (tests). Default Date.now. */
  now?: () => number;
}

/** What the middleware leaves in `ctx.state.auth` on success. */
export type AlpacaAuthState = { scheme: 'api_key' } | { scheme: 'signature'; keyid: string };

type UrlContext = Pick<ParameterizedContext, 'protocol' | 'host' | 'originalUrl'>;

/** The absolute target URI of the request, as Alpaca addressed it (see the module comment). */
export function requestTargetUri(ctx: UrlContext, publicBaseUrl?: string): string {
  if (publicBaseUrl !== undefined) return `${publicBaseUrl.replace(/\/+$/, '')}${ctx.originalUrl}`;
  return `${ctx.protocol}://${ctx.host}${ctx.originalUrl}`;
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function rawBodyOf(ctx: ParameterizedContext): Buffer {
  const raw: unknown = (ctx.state as { rawBody?: unknown }).rawBody;
  if (Buffer.isBuffer(raw)) return raw;
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw === undefined && (ctx.method === 'GET' || ctx.method === 'HEAD')) return Buffer.alloc(0);
  // A programming error, not the caller's: answer 5xx so Alpaca retries instead of giving up.
  throw new Error('alpacaAuth: ctx.state.rawBody is not set; the raw-body middleware must run first');
}

export function alpacaAuth(config: AlpacaAuthConfig): Middleware {
  const apiKey = config.apiKey;
  const keys = config.signatureKeys;
  if (apiKey !== undefined && apiKey.length === 0) throw new TypeError('alpacaAuth: apiKey must not be empty');
  if (apiKey === undefined && (keys === undefined || keys.size === 0)) {
    throw new TypeError('alpacaAuth: configure apiKey and/or signatureKeys');
  }
  if (keys !== undefined) for (const [id, key] of keys) assertEd25519PublicKey(key, `signature key "${id}"`);
  if (!Number.isFinite(config.maxAgeSeconds) || config.maxAgeSeconds <= 0) {
    throw new TypeError('alpacaAuth: maxAgeSeconds must be a positive number');
  }
  if (config.publicBaseUrl !== undefined) new URL(config.publicBaseUrl); // throws on a malformed setting
  const now = config.now ?? Date.now;
  const clockSkewSeconds = config.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const nonceStore = config.nonceStore;

  return async function alpacaAuthMiddleware(ctx, next) {
    const hasSignature =
      ctx.get(SIGNATURE_INPUT_HEADER) !== '' || ctx.get(SIGNATURE_HEADER) !== '';

    if (keys !== undefined && keys.size > 0 && (hasSignature || apiKey === undefined)) {
      const result = await verifyRequest(
        {
          method: ctx.method,
          targetUri: requestTargetUri(ctx, config.publicBaseUrl),
          headers: ctx.headers,
          rawBody: rawBodyOf(ctx),
        },
        {
          keys,
          maxAgeSeconds: config.maxAgeSeconds,
          now,
          clockSkewSeconds,
          nonceSeen: (keyid, nonce, expiresAtMs) => nonceStore.seen(keyid, nonce, expiresAtMs),
        },
      );
      if (!result.ok) throw new AuthError(result.code);
      ctx.state.auth = { scheme: 'signature', keyid: result.keyid } satisfies AlpacaAuthState;
      return next();
    }

    if (apiKey !== undefined) {
      const presented = headerString(ctx.headers[API_KEY_HEADER]);
      if (presented === undefined || presented === '') throw new AuthError('missing_credentials');
      if (!apiKeyMatches(presented, apiKey)) throw new AuthError('invalid_api_key');
      ctx.state.auth = { scheme: 'api_key' } satisfies AlpacaAuthState;
      return next();
    }

    throw new AuthError('missing_credentials');
  };
}
