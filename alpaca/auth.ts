import { z } from 'zod';
import { AlpacaApiError } from './errors';

/** Alpaca's OAuth2 servers ([AUTH]); the token endpoint is `{authUrl}/v1/oauth2/token`. */
export const ALPACA_AUTH_URLS = {
  production: 'https://authx.alpaca.markets',
  sandbox: 'https://authx.sandbox.alpaca.markets',
} as const;

/** Headers that authenticate us to Alpaca's Broker API. */
export interface AlpacaAuthProvider {
  headers(): Promise<Record<string, string>>;
  /**
   * Called by the client when Alpaca answered 401 to a request sent with `sentHeaders`. Returns true
   * when a fresh credential may fix it (a cached token was dropped), so the 401 is worth retrying.
   * Providers without a cache (HTTP Basic) leave it out: their 401 is final.
   */
  rejected?(sentHeaders: Record<string, string>): boolean;
}

/**
 * HTTP Basic with the API key id and secret: what the Broker API reference declares. The header value
 * lives in a private field, so logging or serialising the provider shows no secret.
 */
export class BasicAuth implements AlpacaAuthProvider {
  readonly #value: string;

  constructor(keyId: string, secret: string) {
    if (!keyId || keyId.includes(':')) throw new TypeError('BasicAuth: the key id must be non-empty and contain no colon');
    if (!secret) throw new TypeError('BasicAuth: the secret must be non-empty');
    this.#value = `Basic ${Buffer.from(`${keyId}:${secret}`, 'utf8').toString('base64')}`;
  }

  async headers(): Promise<Record<string, string>> {
    return { authorization: this.#value };
  }

  toJSON(): Record<string, string> {
    return { type: 'basic' };
  }
}

export interface ClientCredentialsOptions {
  /** e.g. `https://authx.alpaca.markets` (see ALPACA_AUTH_URLS); `/v1/oauth2/token` is appended. */
  authUrl: string;
  clientId: string;
  clientSecret: string;
  /** Per token request; default 10 s. */
  timeoutMs?: number;
  /** Refresh this long before the token expires (capped at half its life); default 60 s. */
  refreshMarginMs?: number;
  /** When a token this young is refused, a new one will not help: the 401 is final. Default 5 s. */
  freshTokenMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

const tokenResponse = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive().optional(),
  token_type: z.string().optional(),
});

/** Alpaca documents 15-minute tokens (`expires_in: 899`); used when the answer omits `expires_in`. */
const DEFAULT_TOKEN_LIFETIME_S = 899;

interface CachedToken {
  value: string;
  obtainedAt: number;
  refreshAt: number;
}

/**
 * OAuth2 client credentials with `client_secret_post` (the only client authentication Alpaca accepts
 * besides private_key_jwt). One token is fetched at a time (concurrent callers share the request) and
 * reused until shortly before it expires: Alpaca asks not to fetch a token per call.
 */
export class ClientCredentialsAuth implements AlpacaAuthProvider {
  readonly #clientSecret: string;
  readonly #tokenUrl: string;
  readonly #clientId: string;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #refreshMarginMs: number;
  readonly #freshTokenMs: number;
  #token: CachedToken | undefined;
  #inflight: Promise<CachedToken> | undefined;
  /** Bumped by `rejected()`, so a fetch that started before a revocation does not repopulate the cache with a stale result. */
  #generation = 0;
  /** The verdict on the last refused token, so concurrent 401s for it agree. */
  #lastRejected: { header: string; retryable: boolean } | undefined;

  constructor(options: ClientCredentialsOptions) {
    if (!options.clientId || !options.clientSecret) throw new TypeError('ClientCredentialsAuth: clientId and clientSecret are required');
    const base = new URL(options.authUrl);
    if (base.username || base.password) throw new TypeError('ClientCredentialsAuth: authUrl must not carry credentials');
    this.#tokenUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}/v1/oauth2/token`;
    this.#clientId = options.clientId;
    this.#clientSecret = options.clientSecret;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.#freshTokenMs = options.freshTokenMs ?? 5_000;
  }

  async headers(): Promise<Record<string, string>> {
    const token = this.#token && this.#token.refreshAt > this.#now() ? this.#token : await this.#refresh();
    return { authorization: `Bearer ${token.value}` };
  }

  rejected(sentHeaders: Record<string, string>): boolean {
    const sent = sentHeaders.authorization;
    if (this.#lastRejected && this.#lastRejected.header === sent) return this.#lastRejected.retryable;
    const cached = this.#token;
    if (!cached || sent !== `Bearer ${cached.value}`) return true; // already replaced: the next call uses the new one
    this.#token = undefined;
    this.#generation++;
    const retryable = this.#now() - cached.obtainedAt >= this.#freshTokenMs;
    this.#lastRejected = { header: sent, retryable };
    return retryable;
  }

  toJSON(): Record<string, string> {
    return { type: 'oauth2_client_credentials', tokenUrl: this.#tokenUrl };
  }

  #refresh(): Promise<CachedToken> {
    if (!this.#inflight) {
      const generation = this.#generation;
      this.#inflight = this.#fetchToken()
        .then((token) => {
          if (generation === this.#generation) this.#token = token;
          return token;
        })
        .finally(() => {
          this.#inflight = undefined;
        });
    }
    return this.#inflight;
  }

  async #fetchToken(): Promise<CachedToken> {
    const what = 'Alpaca OAuth token request';
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(this.#tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: this.#clientId, client_secret: this.#clientSecret }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
      throw new AlpacaApiError(timedOut ? `${what} timed out after ${this.#timeoutMs} ms` : `${what} failed: ${networkCode(err)}`, { status: 0, kind: 'auth' });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      // Only the OAuth error code (e.g. invalid_client), never the body: it could echo what we sent.
      const code = (json as { error?: unknown } | undefined)?.error;
      const shown = typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? ` (${code})` : '';
      throw new AlpacaApiError(`${what} answered ${res.status}${shown}`, { status: res.status, kind: 'auth' });
    }
    const parsed = tokenResponse.safeParse(json);
    if (!parsed.success) throw new AlpacaApiError(`${what} answered ${res.status} without a usable access_token`, { status: res.status, kind: 'invalid_response' });
    const type = parsed.data.token_type;
    if (type !== undefined && type.toLowerCase() !== 'bearer') throw new AlpacaApiError(`${what} answered an unsupported token_type`, { status: res.status, kind: 'invalid_response' });
    const lifetimeMs = (parsed.data.expires_in ?? DEFAULT_TOKEN_LIFETIME_S) * 1000;
    const obtainedAt = this.#now();
    return { value: parsed.data.access_token, obtainedAt, refreshAt: obtainedAt + lifetimeMs - Math.min(this.#refreshMarginMs, lifetimeMs / 2) };
  }
}

/** The low-level error code of a failed fetch (ECONNREFUSED, ENOTFOUND, …), never its URL or headers. */
export function networkCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = cause && typeof cause.code === 'string' ? cause.code : undefined;
  return code && /^[A-Z0-9_]{2,40}$/.test(code) ? code : 'network error';
}
