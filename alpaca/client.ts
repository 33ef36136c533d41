import { z } from 'zod';
import { type AlpacaAuthProvider, networkCode } from './auth';
import type { NotifyAlpacaParams } from '../machines/mint';
import type { RedeemBody } from './bodies';
import { AlpacaApiError } from './errors';

/** Alpaca's Broker API hosts. */
export const ALPACA_BROKER_URLS = {
  production: 'https://broker-api.alpaca.markets',
  sandbox: 'https://broker-api.sandbox.alpaca.markets',
} as const;

/** Values documented as of 2026-11. Enums grow: the schema below accepts any string; these are for reference. */
export const TOKENIZATION_TYPES = ['mint', 'redeem'] as const;
export const TOKENIZATION_STATUSES = ['pending', 'completed', 'rejected'] as const;
export const ALPACA_NETWORKS = ['arbitrum', 'base', 'binance', 'cronos', 'ethereum', 'hypercore', 'hyperevm', 'mantle', 'robinhood', 'solana', 'ton', 'tron'] as const;
export const ALPACA_ISSUERS = ['binance', 'bitget', 'coinbase', 'ondo', 'robinhood', 'st0x', 'xstocks'] as const;

/** A known value with autocompletion, or any other string Alpaca may add later. */
type Open<T extends string> = T | (string & {});

const optionalString = z.string().nullish();

/**
 * Legacy names are mapped onto the current ones before validation: `id` (older guide) →
 * `tokenization_request_id`, `account` → `client_account_id`, `issuer_account` →
 * `client_external_account_id` (both sunset 2026-10-15). A `tx_hash` of `""` becomes null.
 */
function normalizeRequest(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  const o: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  if (o.tokenization_request_id === undefined && typeof o.id === 'string') o.tokenization_request_id = o.id;
  if (o.client_account_id == null && typeof o.account === 'string') o.client_account_id = o.account;
  if (o.client_external_account_id == null && typeof o.issuer_account === 'string') o.client_external_account_id = o.issuer_account;
  if (o.tx_hash === '') o.tx_hash = null;
  return o;
}

/**
 * Alpaca's tokenization request object (also the redeem answer, `TokenizationRedeemResponse`, which is
 * the same minus `fees`, `updated_at` and the client ids). Lenient: unknown fields pass through, and
 * `type`, `status`, `network` and `issuer` are plain strings, so a new enum value is data, not a crash.
 * Strict on what the docs mark required and on the types of the fields we read.
 */
export const tokenizationRequestSchema = z.preprocess(
  normalizeRequest,
  z.looseObject({
    tokenization_request_id: z.string().min(1),
    issuer_request_id: optionalString,
    type: z.string() as z.ZodType<Open<(typeof TOKENIZATION_TYPES)[number]>>,
    status: z.string() as z.ZodType<Open<(typeof TOKENIZATION_STATUSES)[number]>>,
    underlying_symbol: z.string(),
    token_symbol: z.string(),
    qty: z.string(),
    /** Documented as required; tolerated when missing. */
    issuer: z.string().nullish() as z.ZodType<Open<(typeof ALPACA_ISSUERS)[number]> | null | undefined>,
    network: z.string() as z.ZodType<Open<(typeof ALPACA_NETWORKS)[number]>>,
    wallet_address: z.string(),
    tx_hash: optionalString,
    fees: optionalString,
    created_at: z.string(),
    updated_at: optionalString,
    client_external_account_id: optionalString,
    client_account_id: optionalString,
    client_request_id: optionalString,
  }),
);
export type TokenizationRequest = z.infer<typeof tokenizationRequestSchema>;

/**
 * A position of the issuer's account (Broker API `GET /v1/trading/accounts/{account_id}/positions`).
 * Only what reconciliation reads is checked; the rest (prices, P/L) passes through. `qty` is a signed
 * decimal string (negative when short).
 */
export const positionSchema = z.looseObject({
  symbol: z.string().min(1),
  qty: z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal string'),
  side: z.string().optional(),
  asset_id: z.string().optional(),
  qty_available: z.string().optional(),
});
export type Position = z.infer<typeof positionSchema>;

const alpacaErrorBody = z.object({ code: z.coerce.number().int().optional(), message: z.string().optional() });

/** Exactly one of the two, matching the identifier Alpaca used on the original mint request. */
export type ClientRef = { client_external_account_id: string; client_account_id?: undefined } | { client_account_id: string; client_external_account_id?: undefined };

export interface RequestFilters {
  type?: string;
  status?: string;
  underlying_symbol?: string;
  issuer?: string;
  network?: string;
  /** Exclusive RFC 3339 bounds on created_at. */
  after?: string;
  before?: string;
}

export interface AlpacaClientOptions {
  /** e.g. `https://broker-api.alpaca.markets` (see ALPACA_BROKER_URLS). */
  baseUrl: string;
  /** The issuer's designated tokenization account id (a UUID). */
  accountId: string;
  auth: AlpacaAuthProvider;
  /** Whole-call budget: connect, headers and body. */
  timeoutMs: number;
  fetch?: typeof fetch;
  userAgent?: string;
  /** Told about every call (operation, HTTP status or 0 for no answer, duration); used for latency metrics. */
  onCall?: (call: { operation: string; status: number; durationMs: number }) => void;
}

/** Printable ASCII without spaces, 1–128 characters (Alpaca: a malformed key is a 400). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
const QTY = /^\d+(\.\d{1,9})?$/;

/**
 * The Broker API calls the issuer makes. Each method is exactly one HTTP attempt: retries (with
 * backoff and a budget) belong to the outbox runner that calls it, so a crash never loses count of
 * them. Failures are `AlpacaApiError`s whose `retryable` tells the runner what to do.
 */
export class AlpacaClient {
  readonly #base: string;
  /** The account's trading resources (positions), beside its tokenization ones. */
  readonly #trading: string;
  readonly #auth: AlpacaAuthProvider;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #userAgent: string | undefined;
  readonly #onCall: AlpacaClientOptions['onCall'];

  constructor(options: AlpacaClientOptions) {
    const base = new URL(options.baseUrl);
    if (base.username || base.password) throw new TypeError('AlpacaClient: baseUrl must not carry credentials');
    if (!options.accountId) throw new TypeError('AlpacaClient: accountId is required');
    if (!(options.timeoutMs > 0)) throw new TypeError('AlpacaClient: timeoutMs must be positive');
    const root = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
    this.#base = `${root}/v1/accounts/${encodeURIComponent(options.accountId)}/tokenization`;
    this.#trading = `${root}/v1/trading/accounts/${encodeURIComponent(options.accountId)}`;
    this.#auth = options.auth;
    this.#timeoutMs = options.timeoutMs;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#userAgent = options.userAgent;
    this.#onCall = options.onCall;
  }

  /**
   * Tells Alpaca the tokens are minted. Sends only the documented fields, and never the `client_id`
   * alias (sunset 2026-10-15). `idempotencyKey` is sent as `Idempotency-Key` when given (documented
   * for redeem only; harmless here).
   */
  async mintCallback(body: NotifyAlpacaParams, opts: { idempotencyKey?: string } = {}): Promise<TokenizationRequest> {
    const what = 'POST /callback/mint';
    requireNonEmpty(what, body, ['tokenization_request_id', 'tx_hash', 'wallet_address', 'network']);
    const payload = { tokenization_request_id: body.tokenization_request_id, tx_hash: body.tx_hash, wallet_address: body.wallet_address, network: body.network, ...clientRef(what, body) };
    const r = await this.#call(what, 'POST', '/callback/mint', payload, idempotencyHeader(what, opts.idempotencyKey));
    return parseRequest(what, r.status, r.json);
  }

  /**
   * Asks Alpaca to journal the shares back to the AP. Always send the same `idempotencyKey` for the
   * same redemption on every retry: a lost answer is then replayed, not refused as a reused
   * `issuer_request_id`. Keys of at most 36 characters (a UUID) are safest: Alpaca plans that limit.
   */
  async redeem(body: RedeemBody, opts: { idempotencyKey: string }): Promise<TokenizationRequest> {
    const what = 'POST /callback/redeem';
    requireNonEmpty(what, body, ['issuer_request_id', 'underlying_symbol', 'token_symbol', 'qty', 'network', 'wallet_address', 'tx_hash']);
    if (!QTY.test(body.qty)) throw invalidRequest(what, 'qty must be a decimal string with at most 9 decimal places');
    if (opts?.idempotencyKey === undefined) throw invalidRequest(what, 'an Idempotency-Key is required');
    const payload = {
      issuer_request_id: body.issuer_request_id,
      underlying_symbol: body.underlying_symbol,
      token_symbol: body.token_symbol,
      qty: body.qty,
      network: body.network,
      wallet_address: body.wallet_address,
      tx_hash: body.tx_hash,
      ...clientRef(what, body),
    };
    const r = await this.#call(what, 'POST', '/callback/redeem', payload, idempotencyHeader(what, opts.idempotencyKey));
    return parseRequest(what, r.status, r.json);
  }

  /** The request, or null when Alpaca answers 404 (unknown, or not visible yet right after creation). */
  async getRequest(tokenizationRequestId: string): Promise<TokenizationRequest | null> {
    const what = 'GET /requests/{id}';
    if (!tokenizationRequestId) throw invalidRequest(what, 'tokenization_request_id is required');
    return this.#orNull(what, `/requests/${encodeURIComponent(tokenizationRequestId)}`);
  }

  /** The request we created with this issuer_request_id, or null on 404. */
  async getRequestByIssuerRequestId(issuerRequestId: string): Promise<TokenizationRequest | null> {
    const what = 'GET /requests:by_issuer_request_id';
    if (!issuerRequestId) throw invalidRequest(what, 'issuer_request_id is required');
    return this.#orNull(what, `/requests:by_issuer_request_id?${new URLSearchParams({ issuer_request_id: issuerRequestId })}`);
  }

  /** `GET …/tokenization/requests` with the documented filters. */
  async listRequests(filters: RequestFilters = {}): Promise<TokenizationRequest[]> {
    const what = 'GET /requests';
    const query = new URLSearchParams(Object.entries(filters).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
    const { status, json } = await this.#call(what, 'GET', `/requests${query.size ? `?${query}` : ''}`);
    const parsed = z.array(tokenizationRequestSchema).safeParse(json);
    if (!parsed.success) throw invalidResponse(what, status, parsed.error);
    return parsed.data;
  }

  /**
   * Every open position of the account (the shares Alpaca holds for the issuer). A symbol with no open
   * position is absent from the list.
   */
  async listPositions(): Promise<Position[]> {
    const what = 'GET /trading/positions';
    const { status, json } = await this.#call(what, 'GET', '/positions', undefined, {}, this.#trading);
    const parsed = z.array(positionSchema).safeParse(json);
    if (!parsed.success) throw invalidResponse(what, status, parsed.error);
    return parsed.data;
  }

  /** The account's position in one symbol, or null when it holds none (Alpaca answers 404). */
  async getPosition(symbol: string): Promise<Position | null> {
    const what = 'GET /trading/positions/{symbol}';
    if (!symbol) throw invalidRequest(what, 'symbol is required');
    try {
      const { status, json } = await this.#call(what, 'GET', `/positions/${encodeURIComponent(symbol)}`, undefined, {}, this.#trading);
      const parsed = positionSchema.safeParse(json);
      if (!parsed.success) throw invalidResponse(what, status, parsed.error);
      return parsed.data;
    } catch (err) {
      if (err instanceof AlpacaApiError && err.kind === 'http' && err.status === 404) return null;
      throw err;
    }
  }

  async #orNull(what: string, path: string): Promise<TokenizationRequest | null> {
    try {
      const { status, json } = await this.#call(what, 'GET', path);
      return parseRequest(what, status, json);
    } catch (err) {
      if (err instanceof AlpacaApiError && err.kind === 'http' && err.status === 404) return null;
      throw err;
    }
  }

  async #call(what: string, method: 'GET' | 'POST', path: string, body?: unknown, extraHeaders: Record<string, string> = {}, base = this.#base): Promise<{ status: number; json: unknown }> {
    let authHeaders: Record<string, string>;
    try {
      authHeaders = await this.#auth.headers();
    } catch (err) {
      if (err instanceof AlpacaApiError) throw err;
      throw new AlpacaApiError(`Alpaca ${what}: could not obtain credentials`, { status: 0, kind: 'auth', retryable: false });
    }
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders, ...authHeaders };
    if (this.#userAgent) headers['user-agent'] = this.#userAgent;
    if (body !== undefined) headers['content-type'] = 'application/json';

    let res: Response;
    let text: string;
    const started = performance.now();
    const told = (status: number) => {
      try {
        this.#onCall?.({ operation: what, status, durationMs: performance.now() - started });
      } catch {
        // metrics must not break a call
      }
    };
    try {
      res = await this.#fetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // A redirect would carry our Authorization somewhere we did not choose: refuse it.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await res.text();
      told(res.status);
    } catch (err) {
      told(0);
      const name = (err as Error)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new AlpacaApiError(`Alpaca ${what} timed out after ${this.#timeoutMs} ms`, { status: 0, kind: 'timeout' });
      throw new AlpacaApiError(`Alpaca ${what} unreachable: ${networkCode(err)}`, { status: 0, kind: 'network' });
    }

    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status >= 200 && res.status < 300) return { status: res.status, json };

    const errorBody = alpacaErrorBody.safeParse(json);
    const alpacaCode = errorBody.success ? errorBody.data.code : undefined;
    const message = errorBody.success && errorBody.data.message ? clean(errorBody.data.message) : res.statusText || 'no message';
    const retryable = res.status === 401 && this.#auth.rejected ? this.#auth.rejected(authHeaders) : undefined;
    throw new AlpacaApiError(`Alpaca ${what} answered ${res.status}${alpacaCode !== undefined ? ` ${alpacaCode}` : ''}: ${message}`, {
      status: res.status,
      kind: 'http',
      ...(alpacaCode !== undefined ? { alpacaCode } : {}),
      ...(retryable !== undefined ? { retryable } : {}),
    });
  }
}

function parseRequest(what: string, status: number, json: unknown): TokenizationRequest {
  const parsed = tokenizationRequestSchema.safeParse(json);
  if (!parsed.success) throw invalidResponse(what, status, parsed.error);
  return parsed.data;
}

function invalidResponse(what: string, status: number, error: z.ZodError): AlpacaApiError {
  // Paths and expected types only: zod's messages here carry no values.
  const issues = error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  return new AlpacaApiError(`Alpaca ${what} answered ${status} with an unexpected body (${issues})`, { status, kind: 'invalid_response' });
}

function invalidRequest(what: string, reason: string): AlpacaApiError {
  return new AlpacaApiError(`Alpaca ${what} not sent: ${reason}`, { status: 0, kind: 'invalid_request' });
}

function requireNonEmpty(what: string, body: object, keys: string[]): void {
  const missing = keys.filter((k) => typeof (body as Record<string, unknown>)[k] !== 'string' || !(body as Record<string, unknown>)[k]);
  if (missing.length) throw invalidRequest(what, `${missing.join(', ')} required`);
}

/** Exactly one client id, under its current name. */
function clientRef(what: string, body: { client_external_account_id?: string; client_account_id?: string }): ClientRef {
  const ext = body.client_external_account_id;
  const acc = body.client_account_id;
  if (ext && acc) throw invalidRequest(what, 'send exactly one of client_external_account_id and client_account_id, not both');
  if (ext) return { client_external_account_id: ext };
  if (acc) return { client_account_id: acc };
  throw invalidRequest(what, 'client_external_account_id or client_account_id required');
}

function idempotencyHeader(what: string, key: string | undefined): Record<string, string> {
  if (key === undefined) return {};
  if (!IDEMPOTENCY_KEY.test(key)) throw invalidRequest(what, 'the Idempotency-Key must be 1–128 printable ASCII characters without spaces');
  return { 'idempotency-key': key };
}

/** Alpaca's message, one line, bounded. */
function clean(message: string): string {
  return message.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 200);
}
