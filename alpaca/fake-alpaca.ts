import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import getRawBody from 'raw-body';
import type { RedeemResponse, TokenizationRequestObject } from './bodies';

/**
 * A stand-in for Alpaca that follows the documented Broker API tokenization endpoints, for the
 * sandbox and tests. It keeps everything in memory and speaks real HTTP both ways:
 *
 * - It serves the calls the issuer makes: `POST /v1/accounts/{id}/tokenization/callback/mint`,
 *   `…/callback/redeem` (with Idempotency-Key semantics), `GET …/requests`, `…/requests/{id}`,
 *   `…/requests:by_issuer_request_id`, the account's positions `GET /v1/trading/accounts/{id}/positions`
 *   and `…/positions/{symbol}`, and an OAuth2 token endpoint `POST /v1/oauth2/token`
 *   (client_secret_post). Broker API calls authenticate with HTTP Basic (key id : secret) or a
 *   Bearer token it issued.
 * - Positions follow the flows: a mint journal confirmed `completed` (and accepted by the issuer)
 *   moves its shares into the issuer's account, a redeem that completes moves them out; a test can
 *   set or skew a position to play a journal made outside the flows.
 * - It plays Alpaca toward the issuer (`X-API-KEY`): account link, mint request, mint confirm, and
 *   remembers what it sent, so the mint callback can be checked against it.
 * - `behaviour` switches faults on: failures, slowness, outage, redeem outcome and lag.
 * - `/_fake/*`: a small unauthenticated control surface for the sandbox demo (see `control`).
 *
 * Error bodies are Alpaca's `{ code, message }`: 400 40010000, 401 40110000, 403 40310000,
 * 404 40410000, 422 42210001; injected failures use `status × 100000` (503 → 50300000).
 */

export type FakeAlpacaPath = 'mint-callback' | 'redeem' | 'lookup' | 'positions' | 'oauth-token';

/** One request that reached a recorded endpoint, whatever it was answered (401, 503, 422 and 200 alike). */
export interface RecordedCall {
  /** Arrival time (ms since the epoch). */
  at: number;
  /** The parsed JSON body (the raw text if it was not JSON). */
  body: any;
  /** The status it was answered. */
  status: number;
  idempotencyKey?: string;
  /** True when the answer was an idempotent replay. */
  replayed?: boolean;
}

export interface FakeAlpacaBehaviour {
  /** Answer the next `count` calls to this endpoint group with `status` (default 503), after auth. Queues up. */
  failNext(path: FakeAlpacaPath, count: number, status?: number): void;
  /** Every Alpaca endpoint waits this long before answering (beyond the client's timeout it is a timeout; the request still takes effect). */
  delayMs: number;
  /** While on, every Alpaca endpoint (token endpoint included) answers 503 before checking anything. */
  outage(on: boolean): void;
  /** Outcome of redeems created from now on. */
  redeemOutcome: 'completed' | 'rejected';
  /** A redeem created from now on stays `pending` this long, then takes `redeemOutcome`. */
  redeemCompletesAfterMs: number;
  /** Lookups (by id or issuer request id) of a redeem created from now on answer 404 this many times first (replication lag). */
  lookupNotFoundFirst: number;
  /** `expires_in` of tokens issued from now on. */
  tokenTtlSeconds: number;
  /** Invalidates every issued token (the next Bearer call gets 401). */
  revokeTokens(): void;
}

/** What the driver sends as a mint request. Extra keys (legacy `id`, `client_id`, bad values for tests) are sent as given. */
export interface MintRequestInput {
  /** Default: a fresh UUID v4 (unless the legacy `id` is given). */
  tokenization_request_id?: string;
  qty?: unknown;
  underlying_symbol?: unknown;
  token_symbol?: unknown;
  network?: unknown;
  wallet_address?: unknown;
  client_external_account_id?: unknown;
  client_account_id?: unknown;
  client_request_id?: unknown;
  [extra: string]: unknown;
}

export interface IssuerAnswer {
  status: number;
  body: any;
}

export interface FakeAlpaca {
  /** Base URL of the fake Broker API (and of its OAuth token endpoint). */
  readonly url: string;
  readonly accountId: string;
  /** Where the driver sends requests; may be changed (e.g. after the issuer restarts on another port). */
  issuerBaseUrl: string;
  readonly behaviour: FakeAlpacaBehaviour;
  /** Every mint callback received, in arrival order. */
  readonly callbacks: RecordedCall[];
  /** Every redeem received, in arrival order. */
  readonly redeems: RecordedCall[];
  /** How many requests reached the OAuth token endpoint. */
  readonly tokenRequests: number;
  callbacksFor(tokenizationRequestId: string): RecordedCall[];
  /** Resolves with the first callback for this request that was answered 200. */
  waitForCallback(tokenizationRequestId: string, timeoutMs?: number): Promise<RecordedCall>;
  /** Current state of one request (redeem outcomes applied), or undefined. */
  request(tokenizationRequestId: string): TokenizationRequestObject | undefined;
  redeemRequests(): TokenizationRequestObject[];
  /** The issuer account's position in a symbol ("0" when none): completed mint journals in, completed redeems out, plus any set or skew. */
  position(symbol: string): string;
  /** Makes the position this quantity now; the flows keep moving it from there. */
  setPosition(symbol: string, qty: string): void;
  /** Moves the position by a signed quantity (`"-0.5"`): a journal Alpaca made outside the flows. */
  skewPosition(symbol: string, delta: string): void;

  /** `POST /tokenization/accounts/connect` (`seedPaths`: `POST /accounts/connect` with the legacy `account`). */
  connect(email: string, clientAccountNumber: string, seedPaths?: boolean): Promise<IssuerAnswer>;
  /** `GET /tokenization/tokens` (`seedPaths`: `GET /tokenized-assets`). */
  listTokens(seedPaths?: boolean): Promise<IssuerAnswer>;
  /** `POST /tokenization/mint` (`seedPaths`: `/inkind/issuance`). Remembered when the issuer answers 200 with an issuer_request_id. */
  requestMint(input: MintRequestInput, seedPaths?: boolean): Promise<IssuerAnswer & { tokenization_request_id: string }>;
  /**
   * `POST /tokenization/mint/confirm` (`seedPaths`: `/inkind/issuance/confirm`). Echoes the client id
   * the mint request carried, under the same name, and `client_request_id` on the affiliated
   * (`client_account_id`) flow only. `extra` is merged last (to send something wrong on purpose).
   */
  confirmMint(tokenizationRequestId: string, issuerRequestId: string, status: 'completed' | 'rejected', extra?: Record<string, unknown>, seedPaths?: boolean): Promise<IssuerAnswer>;
  close(): Promise<void>;
}

export interface FakeAlpacaOptions {
  issuerBaseUrl: string;
  issuerAuth: { apiKey: string };
  /** The issuer's tokenization account id; default a fresh UUID. */
  accountId?: string;
  /** API key id and secret: HTTP Basic on the Broker API, client_id / client_secret on the token endpoint. */
  credentials: { keyId: string; secret: string };
  port?: number;
  host?: string;
  /** The `issuer` value in request objects; default `st0x`. */
  issuer?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
const QTY = /^(0|[1-9]\d*)(\.\d{1,9})?$/;
type ClientKey = 'client_external_account_id' | 'client_account_id' | 'client_id';

interface SentMint {
  /** The body as sent (legacy names and all). */
  raw: Record<string, unknown>;
  clientKey?: ClientKey;
  issuerRequestId: string;
  /** The journal status Alpaca has told (or is telling) the issuer; set when the confirm is sent. */
  confirmed?: string;
}

interface Stored {
  req: TokenizationRequestObject;
  settlesAt?: number;
  outcome?: 'completed' | 'rejected';
  hiddenLookups: number;
}

class Reject extends Error {
  constructor(readonly status: number, readonly code: number, message: string) {
    super(message);
  }
}

const unprocessable = (message: string) => new Reject(422, 42210001, message);
const badRequest = (message: string) => new Reject(400, 40010000, message);

export async function startFakeAlpaca(options: FakeAlpacaOptions): Promise<FakeAlpaca> {
  const accountId = options.accountId ?? crypto.randomUUID();
  const issuerName = options.issuer ?? 'st0x';
  const expectedBasic = `Basic ${Buffer.from(`${options.credentials.keyId}:${options.credentials.secret}`).toString('base64')}`;

  const failures = new Map<FakeAlpacaPath, Array<{ count: number; status: number }>>();
  let outage = false;
  let tokenRequests = 0;
  const tokens = new Map<string, number>(); // token → expiry (ms)
  const stored = new Map<string, Stored>();
  const sentMints = new Map<string, SentMint>();
  const idempotency = new Map<string, { bodyHash: string; tokenizationRequestId: string; response: RedeemResponse }>();
  const callbacks: RecordedCall[] = [];
  const redeems: RecordedCall[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const pendingDelays = new Set<() => void>();
  /** Mint requests whose journal moved shares into the issuer's account. */
  const journaled = new Set<string>();
  /** Per symbol, what the test controls added to the flows' movements. */
  const positionSkew = new Map<string, bigint>();

  const behaviour: FakeAlpacaBehaviour = {
    failNext(path, count, status = 503) {
      const queue = failures.get(path) ?? [];
      queue.push({ count, status });
      failures.set(path, queue);
    },
    delayMs: 0,
    outage(on) {
      outage = on;
    },
    redeemOutcome: 'completed',
    redeemCompletesAfterMs: 0,
    lookupNotFoundFirst: 0,
    tokenTtlSeconds: 899,
    revokeTokens() {
      tokens.clear();
    },
  };

  const injectedFailure = (path: FakeAlpacaPath): number | undefined => {
    const queue = failures.get(path);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    if (--head.count <= 0) queue.shift();
    return head.status;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pendingDelays.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      pendingDelays.add(done);
    });

  /** Redeems settle lazily: pending until their time is up, then their outcome. */
  const settle = (s: Stored): TokenizationRequestObject => {
    if (s.req.status === 'pending' && s.settlesAt !== undefined && Date.now() >= s.settlesAt) {
      s.req.status = s.outcome ?? 'completed';
      s.req.updated_at = new Date().toISOString();
    }
    return s.req;
  };
  const snapshot = (r: TokenizationRequestObject): TokenizationRequestObject => ({ ...r });

  const authorised = (header: string): boolean => {
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    if (scheme === 'basic') return safeEqual(header, expectedBasic);
    if (scheme === 'bearer') {
      const expiry = tokens.get(header.slice(space + 1).trim());
      return expiry !== undefined && expiry > Date.now();
    }
    return false;
  };

  // ----- positions -----

  /** The flows' movements of one symbol, in 1e-18 shares: journaled mints in, completed redeems out. */
  const flowsMovement = (symbol: string): bigint => {
    let total = 0n;
    for (const id of journaled) {
      const r = stored.get(id)?.req;
      if (r && r.underlying_symbol === symbol) total += attoShares(r.qty);
    }
    for (const st of stored.values()) {
      if (st.req.type === 'redeem' && st.req.underlying_symbol === symbol && settle(st).status === 'completed') total -= attoShares(st.req.qty);
    }
    return total;
  };
  const positionOf = (symbol: string): bigint => flowsMovement(symbol) + (positionSkew.get(symbol) ?? 0n);
  const heldSymbols = (): string[] => {
    const symbols = new Set<string>(positionSkew.keys());
    for (const st of stored.values()) symbols.add(st.req.underlying_symbol);
    return [...symbols].filter((sym) => positionOf(sym) !== 0n).sort();
  };
  /** Alpaca's position object (prices left at zero: the fake has no market data). */
  const positionJson = (symbol: string) => {
    const qty = formatAttoShares(positionOf(symbol));
    return {
      asset_id: uuidFrom(symbol),
      symbol,
      exchange: 'NASDAQ',
      asset_class: 'us_equity',
      asset_marginable: false,
      qty,
      qty_available: qty,
      side: qty.startsWith('-') ? 'short' : 'long',
      avg_entry_price: '0',
      market_value: '0',
      cost_basis: '0',
    };
  };

  // ----- Broker API handlers -----

  function mintCallback(b: Record<string, unknown>): TokenizationRequestObject {
    const missing = ['tokenization_request_id', 'tx_hash'].filter((k) => typeof b[k] !== 'string' || !b[k]);
    if (missing.length) throw unprocessable(missing.map((k) => `${k} is required`).join(', '));
    for (const k of ['wallet_address', 'network', 'client_external_account_id', 'client_account_id']) {
      if (b[k] !== undefined && typeof b[k] !== 'string') throw unprocessable(`${k} must be a string`);
    }
    if (b.client_id !== undefined) throw unprocessable('client_id is no longer accepted (sunset 2026-10-15): use client_external_account_id or client_account_id');
    const id = b.tokenization_request_id as string;
    const sent = sentMints.get(id);
    const s = stored.get(id);
    if (!sent || !s || sent.confirmed !== 'completed') throw unprocessable('tokenization_request_id does not name a mint request whose journal was confirmed completed');
    const r = s.req;
    const ext = b.client_external_account_id as string | undefined;
    const acc = b.client_account_id as string | undefined;
    if (!ext === !acc) throw unprocessable('exactly one of client_external_account_id and client_account_id is required');
    if ((ext ?? null) !== (r.client_external_account_id ?? null) || (acc ?? null) !== (r.client_account_id ?? null)) {
      throw unprocessable('the client id does not match the one on the mint request');
    }
    if (b.wallet_address !== undefined && !sameAddress(b.wallet_address as string, r.wallet_address)) throw unprocessable('wallet_address does not match the mint request');
    if (b.network !== undefined && b.network !== r.network) throw unprocessable('network does not match the mint request');
    if (r.tx_hash !== null && r.tx_hash !== b.tx_hash) throw unprocessable('a different tx_hash is already recorded for this tokenization request');
    if (r.tx_hash === null) {
      r.tx_hash = b.tx_hash as string;
      r.status = 'completed';
      r.updated_at = new Date().toISOString();
    }
    return snapshot(r);
  }

  function redeem(b: Record<string, unknown>, key: string | undefined): { response: RedeemResponse; replayed: boolean } {
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) throw badRequest('Idempotency-Key must be 1-128 printable ASCII characters without spaces');
    const required = ['issuer_request_id', 'underlying_symbol', 'token_symbol', 'qty', 'network', 'wallet_address', 'tx_hash'];
    const missing = required.filter((k) => typeof b[k] !== 'string' || !b[k]);
    if (missing.length) throw unprocessable(missing.map((k) => `${k} is required`).join(', '));
    if (b.client_id !== undefined) throw unprocessable('client_id is no longer accepted (sunset 2026-10-15): use client_external_account_id or client_account_id');
    const ext = b.client_external_account_id;
    const acc = b.client_account_id;
    if ((ext !== undefined && typeof ext !== 'string') || (acc !== undefined && typeof acc !== 'string')) throw unprocessable('client ids must be strings');
    if (!ext === !acc) throw unprocessable('exactly one of client_external_account_id and client_account_id is required');
    if (acc !== undefined && !UUID.test(acc as string)) throw unprocessable('client_account_id is not a valid UUID');
    if (!QTY.test(b.qty as string) || /^0(\.0*)?$/.test(b.qty as string)) throw badRequest('qty must be a positive decimal with at most 9 decimal places');

    const bodyHash = crypto.createHash('sha256').update(canonicalJson(b)).digest('hex');
    if (key !== undefined) {
      const prior = idempotency.get(key);
      if (prior) {
        if (prior.bodyHash !== bodyHash) throw unprocessable('Idempotency-Key was already used with a different request body');
        const s = stored.get(prior.tokenizationRequestId);
        if (s && settle(s).status === 'rejected') throw badRequest('the request replayed under this Idempotency-Key was rejected');
        return { response: prior.response, replayed: true };
      }
    }
    for (const s of stored.values()) if (s.req.issuer_request_id === b.issuer_request_id) throw unprocessable('issuer_request_id has already been used');

    const now = new Date().toISOString();
    const req: TokenizationRequestObject = {
      tokenization_request_id: crypto.randomUUID(),
      issuer_request_id: b.issuer_request_id as string,
      type: 'redeem',
      status: 'pending',
      underlying_symbol: b.underlying_symbol as string,
      token_symbol: b.token_symbol as string,
      qty: b.qty as string,
      issuer: issuerName,
      network: b.network as string,
      wallet_address: b.wallet_address as string,
      tx_hash: b.tx_hash as string,
      fees: null,
      created_at: now,
      updated_at: null,
      ...(ext !== undefined ? { client_external_account_id: ext as string } : {}),
      ...(acc !== undefined ? { client_account_id: acc as string } : {}),
    };
    stored.set(req.tokenization_request_id, {
      req,
      settlesAt: Date.now() + behaviour.redeemCompletesAfterMs,
      outcome: behaviour.redeemOutcome,
      hiddenLookups: behaviour.lookupNotFoundFirst,
    });
    // TokenizationRedeemResponse: no fees, updated_at or client ids.
    const response: RedeemResponse = {
      tokenization_request_id: req.tokenization_request_id,
      issuer_request_id: req.issuer_request_id,
      created_at: req.created_at,
      type: req.type,
      status: req.status,
      underlying_symbol: req.underlying_symbol,
      token_symbol: req.token_symbol,
      qty: req.qty,
      issuer: req.issuer,
      network: req.network,
      wallet_address: req.wallet_address,
      tx_hash: req.tx_hash,
    };
    if (key !== undefined) idempotency.set(key, { bodyHash, tokenizationRequestId: req.tokenization_request_id, response });
    return { response, replayed: false };
  }

  function lookup(s: Stored | undefined): TokenizationRequestObject {
    if (s && s.hiddenLookups > 0) {
      s.hiddenLookups--;
      s = undefined;
    }
    if (!s) throw new Reject(404, 40410000, 'tokenization request not found');
    return snapshot(settle(s));
  }

  function list(query: URLSearchParams): TokenizationRequestObject[] {
    const bound = (name: string): number | undefined => {
      const v = query.get(name);
      if (v === null) return undefined;
      const t = Date.parse(v);
      if (Number.isNaN(t)) throw unprocessable(`failed to parse ${name}`);
      return t;
    };
    const after = bound('after');
    const before = bound('before');
    return [...stored.values()]
      .map((s) => snapshot(settle(s)))
      .filter((r) => ['type', 'status', 'underlying_symbol', 'issuer', 'network'].every((k) => query.get(k) === null || (r as unknown as Record<string, unknown>)[k] === query.get(k)))
      .filter((r) => (after === undefined || Date.parse(r.created_at) > after) && (before === undefined || Date.parse(r.created_at) < before));
  }

  // ----- HTTP -----

  const app = new Koa();
  app.use(async (ctx) => {
    if (ctx.path.startsWith('/_fake/')) return control(ctx);
    const tokenization = /^\/v1\/accounts\/([^/]+)\/tokenization(\/.*)$/.exec(ctx.path);
    const positions = /^\/v1\/trading\/accounts\/([^/]+)\/positions(?:\/([^/]+))?$/.exec(ctx.path);
    const isToken = ctx.path === '/v1/oauth2/token';
    if (!tokenization && !positions && !isToken) return reply(ctx, 404, { code: 40410000, message: 'not found' });

    let rest = tokenization?.[2] ?? '';
    try {
      rest = decodeURIComponent(rest);
    } catch {
      /* keep as is */
    }
    const route: FakeAlpacaPath | undefined = isToken
      ? 'oauth-token'
      : positions
        ? ctx.method === 'GET'
          ? 'positions'
          : undefined
        : ctx.method === 'POST' && rest === '/callback/mint'
        ? 'mint-callback'
        : ctx.method === 'POST' && rest === '/callback/redeem'
          ? 'redeem'
          : ctx.method === 'GET' && (rest === '/requests' || rest === '/requests:by_issuer_request_id' || /^\/requests\/[^/]+$/.test(rest))
            ? 'lookup'
            : undefined;

    let raw = '';
    if (ctx.method === 'POST') {
      try {
        raw = (await getRawBody(ctx.req, { limit: '64kb', encoding: 'utf8' })) as string;
      } catch {
        return reply(ctx, 400, { code: 40010000, message: 'failed to read request body' });
      }
    }
    const record: RecordedCall | undefined =
      route === 'mint-callback' || route === 'redeem' ? { at: Date.now(), body: parseJson(raw) ?? raw, status: 0, ...(ctx.get('idempotency-key') ? { idempotencyKey: ctx.get('idempotency-key') } : {}) } : undefined;

    try {
      if (behaviour.delayMs > 0) await sleep(behaviour.delayMs);
      if (outage) return reply(ctx, 503, { code: 50300000, message: 'service unavailable' });
      if (route === 'oauth-token') return tokenEndpoint(ctx, raw);

      if (!authorised(ctx.get('authorization'))) return reply(ctx, 401, { code: 40110000, message: 'unauthorized' });
      if ((tokenization ?? positions)![1] !== accountId) return reply(ctx, 403, { code: 40310000, message: 'forbidden' });
      if (!route) return reply(ctx, 404, { code: 40410000, message: 'not found' });
      const injected = injectedFailure(route);
      if (injected !== undefined) return reply(ctx, injected, { code: injected * 100000, message: http.STATUS_CODES[injected] ?? 'injected failure' });

      let body: Record<string, unknown> = {};
      if (ctx.method === 'POST') {
        const parsed = parseJson(raw);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return reply(ctx, 400, { code: 40010000, message: 'failed to decode request body' });
        body = parsed as Record<string, unknown>;
      }

      if (route === 'positions') {
        if (positions![2] === undefined) return reply(ctx, 200, heldSymbols().map(positionJson));
        let symbol = positions![2];
        try {
          symbol = decodeURIComponent(symbol);
        } catch {
          /* keep as is */
        }
        if (positionOf(symbol) === 0n) throw new Reject(404, 40410000, 'position does not exist');
        return reply(ctx, 200, positionJson(symbol));
      }
      if (route === 'mint-callback') return reply(ctx, 200, mintCallback(body));
      if (route === 'redeem') {
        const { response, replayed } = redeem(body, ctx.get('idempotency-key') || undefined);
        if (replayed) {
          ctx.set('Idempotent-Replayed', 'true');
          record!.replayed = true;
        }
        return reply(ctx, 200, response);
      }
      if (rest === '/requests') return reply(ctx, 200, list(new URLSearchParams(ctx.querystring)));
      if (rest === '/requests:by_issuer_request_id') {
        const issuerRequestId = typeof ctx.query.issuer_request_id === 'string' ? ctx.query.issuer_request_id : '';
        if (!issuerRequestId) throw unprocessable('issuer_request_id is required');
        return reply(ctx, 200, lookup([...stored.values()].find((s) => s.req.issuer_request_id === issuerRequestId)));
      }
      const id = rest.slice('/requests/'.length);
      if (!UUID.test(id)) throw unprocessable('tokenization_request_id is not a valid UUID');
      return reply(ctx, 200, lookup(stored.get(id)));
    } catch (err) {
      if (!(err instanceof Reject)) throw err;
      return reply(ctx, err.status, { code: err.code, message: err.message });
    } finally {
      if (record) {
        record.status = ctx.status;
        (route === 'mint-callback' ? callbacks : redeems).push(record);
        if (route === 'mint-callback') events.emit('callback', record);
      }
    }
  });

  /**
   * The fake's own control surface, for the sandbox and `npm run demo` (no auth: the fake listens on
   * loopback). `POST /_fake/mints` plays Alpaca's side of a mint: the mint request, then the confirm
   * (`journal`, default `completed`), answering `{ tokenization_request_id, request, confirm }`.
   * `GET /_fake/callbacks[?tokenization_request_id=]` answers `{ callbacks }`.
   */
  async function control(ctx: Koa.Context): Promise<void> {
    if (ctx.method === 'POST' && ctx.path === '/_fake/mints') {
      const parsed = parseJson((await getRawBody(ctx.req, { limit: '64kb', encoding: 'utf8' })) as string);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return reply(ctx, 400, { code: 40010000, message: 'failed to decode request body' });
      const { journal, ...body } = parsed as Record<string, unknown>;
      const request = await fake.requestMint(body);
      const confirm =
        request.status === 200 ? await fake.confirmMint(request.tokenization_request_id, request.body.issuer_request_id, journal === 'rejected' ? 'rejected' : 'completed') : undefined;
      return reply(ctx, 200, { tokenization_request_id: request.tokenization_request_id, request: { status: request.status, body: request.body }, confirm });
    }
    if (ctx.method === 'GET' && ctx.path === '/_fake/callbacks') {
      const id = typeof ctx.query.tokenization_request_id === 'string' ? ctx.query.tokenization_request_id : '';
      return reply(ctx, 200, { callbacks: id ? fake.callbacksFor(id) : callbacks });
    }
    if (ctx.method === 'GET' && ctx.path === '/_fake/redeems') return reply(ctx, 200, { redeems, requests: fake.redeemRequests() });
    if (ctx.method === 'GET' && ctx.path === '/_fake/positions') return reply(ctx, 200, { positions: heldSymbols().map(positionJson) });
    if (ctx.method === 'POST' && ctx.path === '/_fake/positions') {
      const parsed = parseJson((await getRawBody(ctx.req, { limit: '64kb', encoding: 'utf8' })) as string) as Record<string, unknown> | undefined;
      if (!parsed || typeof parsed.symbol !== 'string' || typeof parsed.qty !== 'string' || !SIGNED_QTY.test(parsed.qty)) return reply(ctx, 400, { code: 40010000, message: 'expected {symbol, qty}' });
      fake.setPosition(parsed.symbol, parsed.qty);
      return reply(ctx, 200, positionJson(parsed.symbol));
    }
    return reply(ctx, 404, { code: 40410000, message: 'not found' });
  }

  function tokenEndpoint(ctx: Koa.Context, raw: string): void {
    tokenRequests++;
    const injected = injectedFailure('oauth-token');
    if (injected !== undefined) return reply(ctx, injected, { error: 'temporarily_unavailable' });
    if (!ctx.is('application/x-www-form-urlencoded')) return reply(ctx, 400, { error: 'invalid_request' });
    const form = new URLSearchParams(raw);
    if (form.get('grant_type') !== 'client_credentials') return reply(ctx, 400, { error: 'unsupported_grant_type' });
    // client_secret_post only: credentials in the form, never in an Authorization header.
    const id = form.get('client_id') ?? '';
    const secret = form.get('client_secret') ?? '';
    if (!safeEqual(id, options.credentials.keyId) || !safeEqual(secret, options.credentials.secret)) return reply(ctx, 401, { error: 'invalid_client' });
    const token = crypto.randomBytes(24).toString('base64url');
    tokens.set(token, Date.now() + behaviour.tokenTtlSeconds * 1000);
    reply(ctx, 200, { access_token: token, expires_in: behaviour.tokenTtlSeconds, token_type: 'Bearer' });
  }

  const server = http.createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  // ----- the driver: Alpaca calling the issuer -----

  async function toIssuer(method: 'GET' | 'POST', path: string, body?: unknown): Promise<IssuerAnswer> {
    const res = await fetch(`${fake.issuerBaseUrl.replace(/\/+$/, '')}${path}`, {
      method,
      headers: { 'x-api-key': options.issuerAuth.apiKey, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, body: parseJson(text) ?? text };
  }

  const fake: FakeAlpaca = {
    url,
    accountId,
    issuerBaseUrl: options.issuerBaseUrl,
    behaviour,
    callbacks,
    redeems,
    get tokenRequests() {
      return tokenRequests;
    },
    callbacksFor: (id) => callbacks.filter((c) => c.body?.tokenization_request_id === id),
    waitForCallback(id, timeoutMs = 10_000) {
      const accepted = (c: RecordedCall) => c.status === 200 && c.body?.tokenization_request_id === id;
      const already = callbacks.find(accepted);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const onCallback = (c: RecordedCall) => {
          if (!accepted(c)) return;
          clearTimeout(timer);
          events.off('callback', onCallback);
          resolve(c);
        };
        const timer = setTimeout(() => {
          events.off('callback', onCallback);
          reject(new Error(`no accepted mint callback for ${id} within ${timeoutMs} ms (${fake.callbacksFor(id).length} attempt(s) seen)`));
        }, timeoutMs);
        timer.unref();
        events.on('callback', onCallback);
      });
    },
    request(id) {
      const s = stored.get(id);
      return s ? snapshot(settle(s)) : undefined;
    },
    redeemRequests: () => [...stored.values()].filter((s) => s.req.type === 'redeem').map((s) => snapshot(settle(s))),
    position: (symbol) => formatAttoShares(positionOf(symbol)),
    setPosition(symbol, qty) {
      positionSkew.set(symbol, attoShares(qty) - flowsMovement(symbol));
    },
    skewPosition(symbol, delta) {
      positionSkew.set(symbol, (positionSkew.get(symbol) ?? 0n) + attoShares(delta));
    },

    connect: (email, clientAccountNumber, seedPaths = false) =>
      seedPaths ? toIssuer('POST', '/accounts/connect', { email, account: clientAccountNumber }) : toIssuer('POST', '/tokenization/accounts/connect', { email, client_account_number: clientAccountNumber }),
    listTokens: (seedPaths = false) => toIssuer('GET', seedPaths ? '/tokenized-assets' : '/tokenization/tokens'),

    async requestMint(input, seedPaths = false) {
      const body: Record<string, unknown> = { ...input };
      if (body.tokenization_request_id === undefined && body.id === undefined) body.tokenization_request_id = crypto.randomUUID();
      const id = String(body.tokenization_request_id ?? body.id);
      const res = await toIssuer('POST', seedPaths ? '/inkind/issuance' : '/tokenization/mint', body);
      if (res.status === 200 && typeof res.body?.issuer_request_id === 'string' && !sentMints.has(id)) {
        const clientKey = (['client_external_account_id', 'client_account_id', 'client_id'] as const).find((k) => body[k] !== undefined);
        sentMints.set(id, { raw: body, issuerRequestId: res.body.issuer_request_id, ...(clientKey ? { clientKey } : {}) });
        const str = (v: unknown) => (typeof v === 'string' ? v : String(v ?? ''));
        const external = body.client_external_account_id ?? body.client_id;
        stored.set(id, {
          hiddenLookups: 0,
          req: {
            tokenization_request_id: id,
            issuer_request_id: res.body.issuer_request_id,
            type: 'mint',
            status: 'pending',
            underlying_symbol: str(body.underlying_symbol),
            token_symbol: str(body.token_symbol),
            qty: str(body.qty),
            issuer: issuerName,
            network: str(body.network),
            wallet_address: str(body.wallet_address),
            tx_hash: null,
            fees: null,
            created_at: new Date().toISOString(),
            updated_at: null,
            ...(external !== undefined ? { client_external_account_id: str(external) } : {}),
            ...(body.client_account_id !== undefined ? { client_account_id: str(body.client_account_id) } : {}),
            ...(body.client_request_id !== undefined ? { client_request_id: str(body.client_request_id) } : {}),
          },
        });
      }
      return { ...res, tokenization_request_id: id };
    },

    async confirmMint(tokenizationRequestId, issuerRequestId, status, extra = {}, seedPaths = false) {
      const sent = sentMints.get(tokenizationRequestId);
      const echo: Record<string, unknown> = {};
      if (sent?.clientKey) echo[sent.clientKey] = sent.raw[sent.clientKey];
      if (sent?.clientKey === 'client_account_id' && sent.raw.client_request_id !== undefined) echo.client_request_id = sent.raw.client_request_id;
      // Alpaca has journaled (or refused) before it tells the issuer: from now on a callback is expected,
      // even if this answer is lost (Alpaca retries on 5xx and timeouts). A 4xx is a final refusal by the issuer.
      const previous = sent?.confirmed;
      if (sent) sent.confirmed = status;
      const res = await toIssuer('POST', seedPaths ? '/inkind/issuance/confirm' : '/tokenization/mint/confirm', {
        tokenization_request_id: tokenizationRequestId,
        issuer_request_id: issuerRequestId,
        status,
        ...echo,
        ...extra,
      });
      if (sent && res.status >= 400 && res.status < 500) sent.confirmed = previous;
      // The shares are the issuer's once the issuer has taken the confirm (a retried confirm moves nothing more).
      if (res.status === 200 && status === 'completed' && stored.has(tokenizationRequestId)) journaled.add(tokenizationRequestId);
      const s = stored.get(tokenizationRequestId);
      if (s && res.status === 200 && status === 'rejected' && s.req.status === 'pending') {
        s.req.status = 'rejected';
        s.req.updated_at = new Date().toISOString();
      }
      return res;
    },

    async close() {
      for (const done of [...pendingDelays]) done();
      events.removeAllListeners();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  return fake;
}

function reply(ctx: Koa.Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.body = body;
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function safeEqual(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

const SIGNED_QTY = /^-?\d+(\.\d{1,18})?$/;

/** A signed decimal quantity in 1e-18 shares (quantities the fake cannot read count as zero). */
function attoShares(qty: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,18}))?$/.exec(qty);
  if (!m) return 0n;
  const value = BigInt(m[2]!) * 10n ** 18n + BigInt((m[3] ?? '').padEnd(18, '0') || '0');
  return m[1] ? -value : value;
}

function formatAttoShares(value: bigint): string {
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  const fraction = (abs % 10n ** 18n).toString().padStart(18, '0').replace(/0+$/, '');
  return `${sign}${abs / 10n ** 18n}${fraction ? `.${fraction}` : ''}`;
}

/** A stable UUID-shaped asset id per symbol. */
function uuidFrom(symbol: string): string {
  const h = crypto.createHash('sha256').update(`asset:${symbol}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** EVM addresses compare case-insensitively (checksum case); anything else exactly. */
function sameAddress(a: string, b: string): boolean {
  const hex = /^0x[0-9a-fA-F]{40}$/;
  return hex.test(a) && hex.test(b) ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/** JSON with sorted keys, so the same body in another key order is the same body. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as Record<string, unknown>)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
