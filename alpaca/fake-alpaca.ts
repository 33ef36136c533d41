import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import getRawBody from 'raw-body';

/**
 * A stand-in for Alpaca that follows the documented Broker API closely enough to drive the issuer:
 * it plays Alpaca toward our issuer endpoints (link, mint request, confirm) and serves the calls we
 * make (mint callback, redeem, request lookups), with switchable faults. Sandbox and tests only.
 */

type Kind = 'mint-callback' | 'redeem' | 'lookup';

export interface RecordedCall {
  at: number;
  body: any;
  idempotencyKey?: string;
}

interface FakeRequest {
  tokenization_request_id: string;
  issuer_request_id: string | null;
  type: 'mint' | 'redeem';
  status: 'pending' | 'completed' | 'rejected';
  underlying_symbol: string;
  token_symbol: string;
  qty: string;
  issuer: string;
  network: string;
  wallet_address: string;
  tx_hash: string | null;
  created_at: string;
  updated_at: string | null;
  fees: string | null;
  client_external_account_id?: string;
  client_account_id?: string;
}

export interface FakeAlpacaBehaviour {
  /** Answer the next `count` calls of this kind with `status` (default 503). */
  failNext(kind: Kind, count: number, status?: number): void;
  /** Every answer waits this long first (slow Alpaca; beyond the client timeout it is a timeout). */
  delayMs: number;
  /** Every Alpaca endpoint answers 503 while on. */
  outage(on: boolean): void;
  redeemOutcome: 'completed' | 'rejected';
  redeemCompletesAfterMs: number;
  /** Lookups of a redeem answer 404 this many times after its creation (replication lag). */
  lookupNotFoundFirst: number;
}

export interface FakeAlpaca {
  url: string;
  issuerBaseUrl: string;
  accountId: string;
  behaviour: FakeAlpacaBehaviour;
  callbacks: RecordedCall[];
  redeems: RecordedCall[];
  callbacksFor(tokenizationRequestId: string): RecordedCall[];
  redeemRequests(): FakeRequest[];
  connect(email: string, clientAccountNumber: string): Promise<{ status: number; body: any }>;
  /** `seedPaths` uses the seeds' paths (`/inkind/issuance…`) instead of the current ones. */
  requestMint(body: Record<string, unknown>, seedPaths?: boolean): Promise<{ status: number; body: any }>;
  confirmMint(tokenizationRequestId: string, issuerRequestId: string, status: 'completed' | 'rejected', extra?: Record<string, unknown>, seedPaths?: boolean): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export interface FakeAlpacaOptions {
  issuerBaseUrl: string;
  issuerAuth: { apiKey: string };
  accountId?: string;
  credentials: { keyId: string; secret: string };
  port?: number;
}

const alpacaError = (code: number, message: string) => ({ code, message });

export async function startFakeAlpaca(options: FakeAlpacaOptions): Promise<FakeAlpaca> {
  const accountId = options.accountId ?? crypto.randomUUID();
  const expectedAuth = `Basic ${Buffer.from(`${options.credentials.keyId}:${options.credentials.secret}`).toString('base64')}`;
  const failures = new Map<Kind, { count: number; status: number }>();
  let outage = false;
  const requests = new Map<string, FakeRequest>();
  const lookupsSeen = new Map<string, number>();
  const idempotency = new Map<string, { bodyHash: string; response: FakeRequest }>();
  const sentMints = new Map<string, { body: Record<string, unknown>; issuerRequestId?: string; confirmed?: 'completed' | 'rejected' }>();
  const callbacks: RecordedCall[] = [];
  const redeems: RecordedCall[] = [];

  const behaviour: FakeAlpacaBehaviour = {
    failNext(kind, count, status = 503) {
      failures.set(kind, { count, status });
    },
    delayMs: 0,
    outage(on) {
      outage = on;
    },
    redeemOutcome: 'completed',
    redeemCompletesAfterMs: 0,
    lookupNotFoundFirst: 0,
  };

  const fault = (kind: Kind): number | undefined => {
    if (outage) return 503;
    const f = failures.get(kind);
    if (f && f.count > 0) {
      f.count--;
      return f.status;
    }
    return undefined;
  };

  /** Redeems settle lazily: pending until their time is up, then the configured outcome. */
  const settle = (r: FakeRequest): FakeRequest => {
    if (r.type === 'redeem' && r.status === 'pending' && Date.now() - Date.parse(r.created_at) >= behaviour.redeemCompletesAfterMs) {
      r.status = behaviour.redeemOutcome;
      r.updated_at = new Date().toISOString();
    }
    return r;
  };

  const app = new Koa();
  const router = new Router({ prefix: '/v1/accounts/:accountId/tokenization' });
  app.use(async (ctx, next) => {
    if (ctx.path.startsWith('/_fake/')) return control(ctx);
    if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
    if (ctx.get('authorization') !== expectedAuth) {
      ctx.status = 401;
      ctx.body = alpacaError(40110000, 'unauthorized');
      return;
    }
    if (['POST'].includes(ctx.method)) {
      try {
        const raw = await getRawBody(ctx.req, { limit: '64kb' });
        ctx.request.body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
      } catch {
        ctx.status = 400;
        ctx.body = alpacaError(40010000, 'failed to decode request body');
        return;
      }
    }
    await next();
  });
  router.use(async (ctx, next) => {
    if (ctx.params.accountId !== accountId) {
      ctx.status = 403;
      ctx.body = alpacaError(40310000, 'forbidden');
      return;
    }
    await next();
  });

  router.post('/callback/mint', (ctx) => {
    const status = fault('mint-callback');
    const body = ctx.request.body as any;
    callbacks.push({ at: Date.now(), body });
    if (status) {
      ctx.status = status;
      ctx.body = alpacaError(50010000, 'internal server error');
      return;
    }
    const missing = ['tokenization_request_id', 'tx_hash'].filter((k) => typeof body?.[k] !== 'string' || !body[k]);
    if (missing.length) {
      ctx.status = 422;
      ctx.body = alpacaError(42210001, missing.map((k) => `${k} is required`).join(', '));
      return;
    }
    const sent = sentMints.get(body.tokenization_request_id);
    if (!sent || sent.confirmed !== 'completed') {
      ctx.status = 422;
      ctx.body = alpacaError(42210001, 'no confirmed mint with this tokenization_request_id');
      return;
    }
    const b = sent.body as any;
    const request: FakeRequest = {
      tokenization_request_id: body.tokenization_request_id,
      issuer_request_id: sent.issuerRequestId ?? null,
      type: 'mint',
      status: 'completed',
      underlying_symbol: b.underlying_symbol,
      token_symbol: b.token_symbol,
      qty: b.qty,
      issuer: 'issuance-bot',
      network: b.network,
      wallet_address: body.wallet_address ?? b.wallet_address,
      tx_hash: body.tx_hash,
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
      fees: null,
      client_external_account_id: body.client_external_account_id,
    };
    requests.set(request.tokenization_request_id, request);
    ctx.body = request;
  });

  router.post('/callback/redeem', (ctx) => {
    const status = fault('redeem');
    const body = ctx.request.body as any;
    const key = ctx.get('idempotency-key') || undefined;
    redeems.push({ at: Date.now(), body, idempotencyKey: key });
    if (status) {
      ctx.status = status;
      ctx.body = alpacaError(50010000, 'internal server error');
      return;
    }
    const required = ['issuer_request_id', 'underlying_symbol', 'token_symbol', 'qty', 'network', 'wallet_address', 'tx_hash'];
    const missing = required.filter((k) => typeof body?.[k] !== 'string' || !body[k]);
    if (missing.length) {
      ctx.status = 422;
      ctx.body = alpacaError(42210001, missing.map((k) => `${k} is required`).join(', '));
      return;
    }
    if (!/^(0|[1-9]\d*)(\.\d{1,9})?$/.test(body.qty)) {
      ctx.status = 400;
      ctx.body = alpacaError(40010000, 'qty has more than 9 decimal places');
      return;
    }
    if (key !== undefined && !/^[\x21-\x7e]{1,128}$/.test(key)) {
      ctx.status = 400;
      ctx.body = alpacaError(40010000, 'malformed Idempotency-Key');
      return;
    }
    const bodyHash = crypto.createHash('sha256').update(JSON.stringify(body)).digest('hex');
    if (key) {
      const prior = idempotency.get(key);
      if (prior) {
        if (prior.bodyHash !== bodyHash) {
          ctx.status = 422;
          ctx.body = alpacaError(42210001, 'Idempotency-Key reused with a different body');
          return;
        }
        ctx.set('Idempotent-Replayed', 'true');
        ctx.body = prior.response;
        return;
      }
    }
    if ([...requests.values()].some((r) => r.issuer_request_id === body.issuer_request_id)) {
      ctx.status = 422;
      ctx.body = alpacaError(42210001, 'issuer_request_id already used');
      return;
    }
    const now = new Date().toISOString();
    const request: FakeRequest = {
      tokenization_request_id: crypto.randomUUID(),
      issuer_request_id: body.issuer_request_id,
      type: 'redeem',
      status: 'pending',
      underlying_symbol: body.underlying_symbol,
      token_symbol: body.token_symbol,
      qty: body.qty,
      issuer: 'issuance-bot',
      network: body.network,
      wallet_address: body.wallet_address,
      tx_hash: body.tx_hash,
      created_at: now,
      updated_at: null,
      fees: null,
      client_external_account_id: body.client_external_account_id,
      client_account_id: body.client_account_id,
    };
    requests.set(request.tokenization_request_id, request);
    if (key) idempotency.set(key, { bodyHash, response: { ...request } });
    ctx.body = request;
  });

  const lookup = (ctx: Koa.Context, r: FakeRequest | undefined) => {
    const status = fault('lookup');
    if (status) {
      ctx.status = status;
      ctx.body = alpacaError(50010000, 'internal server error');
      return;
    }
    if (r && r.type === 'redeem') {
      const seen = (lookupsSeen.get(r.tokenization_request_id) ?? 0) + 1;
      lookupsSeen.set(r.tokenization_request_id, seen);
      if (seen <= behaviour.lookupNotFoundFirst) r = undefined;
    }
    if (!r) {
      ctx.status = 404;
      ctx.body = alpacaError(40410000, 'tokenization request not found');
      return;
    }
    ctx.body = settle(r);
  };
  router.get('/requests:by_issuer_request_id', (ctx) => {
    const id = String(ctx.query.issuer_request_id ?? '');
    if (!id) {
      ctx.status = 422;
      ctx.body = alpacaError(42210001, 'issuer_request_id is required');
      return;
    }
    lookup(ctx, [...requests.values()].find((r) => r.issuer_request_id === id));
  });
  router.get('/requests/:id', (ctx) => {
    if (!/^[0-9a-f-]{36}$/i.test(ctx.params.id!)) {
      ctx.status = 422;
      ctx.body = alpacaError(42210001, 'tokenization_request_id is not a valid UUID');
      return;
    }
    lookup(ctx, requests.get(ctx.params.id!));
  });
  app.use(router.routes());

  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeAlpaca = {
    url,
    issuerBaseUrl: options.issuerBaseUrl,
    accountId,
    behaviour,
    callbacks,
    redeems,
    callbacksFor: (id) => callbacks.filter((c) => c.body?.tokenization_request_id === id),
    redeemRequests: () => [...requests.values()].filter((r) => r.type === 'redeem').map(settle),
    connect: (email, clientAccountNumber) => toIssuer('/tokenization/accounts/connect', { email, client_account_number: clientAccountNumber }),
    async requestMint(body, seedPaths = false) {
      const res = await toIssuer(seedPaths ? '/inkind/issuance' : '/tokenization/mint', body);
      const id = String(body.tokenization_request_id ?? body.id ?? '');
      if (res.status === 200 && id && !sentMints.has(id)) sentMints.set(id, { body, issuerRequestId: res.body.issuer_request_id });
      return res;
    },
    async confirmMint(tokenizationRequestId, issuerRequestId, status, extra = {}, seedPaths = false) {
      const sent = sentMints.get(tokenizationRequestId);
      // Alpaca echoes the client id the request carried.
      const client: Record<string, unknown> = {};
      for (const k of ['client_external_account_id', 'client_account_id', 'client_id']) if (sent?.body[k] !== undefined) client[k] = sent.body[k];
      const res = await toIssuer(seedPaths ? '/inkind/issuance/confirm' : '/tokenization/mint/confirm', { tokenization_request_id: tokenizationRequestId, issuer_request_id: issuerRequestId, status, ...client, ...extra });
      if (res.status === 200 && sent) sent.confirmed = status;
      return res;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  /**
   * The fake's own control surface (loopback only, sandbox and demo): play Alpaca's side of a mint, and
   * show what Alpaca received.
   */
  async function control(ctx: Koa.Context): Promise<void> {
    if (ctx.method === 'POST' && ctx.path === '/_fake/mints') {
      const body = JSON.parse((await getRawBody(ctx.req, { limit: '64kb' })).toString('utf8') || '{}');
      const tokenizationRequestId = String(body.tokenization_request_id ?? crypto.randomUUID());
      const request = await fake.requestMint({ ...body, tokenization_request_id: tokenizationRequestId });
      const confirm = request.status === 200 ? await fake.confirmMint(tokenizationRequestId, request.body.issuer_request_id, body.journal ?? 'completed') : undefined;
      ctx.body = { tokenization_request_id: tokenizationRequestId, request, confirm };
      return;
    }
    if (ctx.method === 'GET' && ctx.path === '/_fake/callbacks') {
      const id = String(ctx.query.tokenization_request_id ?? '');
      ctx.body = { callbacks: id ? fake.callbacksFor(id) : callbacks };
      return;
    }
    ctx.status = 404;
    ctx.body = alpacaError(40410000, 'not found');
  }

  async function toIssuer(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${fake.issuerBaseUrl}${path}`, { method: 'POST', headers: { 'x-api-key': options.issuerAuth.apiKey, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed };
  }

  return fake;
}
