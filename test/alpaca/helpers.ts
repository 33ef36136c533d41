import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import getRawBody from 'raw-body';
import { BasicAuth } from '../../alpaca/auth';
import { AlpacaClient } from '../../alpaca/client';
import { AlpacaApiError } from '../../alpaca/errors';
import { type FakeAlpaca, startFakeAlpaca } from '../../alpaca/fake-alpaca';

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export interface Listening {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** Starts a Koa app on a free local port; `handle` answers, every request is recorded first. */
export async function listen(handle: (ctx: Koa.Context, body: any) => void | Promise<void>): Promise<Listening> {
  const received: Received[] = [];
  const app = new Koa();
  app.use(async (ctx) => {
    const raw = ctx.method === 'POST' ? ((await getRawBody(ctx.req, { encoding: 'utf8' })) as string) : '';
    let body: any = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      /* form or text */
    }
    received.push({ method: ctx.method, path: ctx.url, headers: ctx.req.headers, body });
    await handle(ctx, body);
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface StandInIssuer extends Listening {
  /** When set, the confirm endpoints answer this status. */
  confirmStatus?: number;
}

/**
 * A tiny issuer: just enough of the issuer endpoints for the fake's driver (X-API-KEY checked,
 * every body recorded, both path sets).
 */
export async function startStandInIssuer(apiKey: string): Promise<StandInIssuer> {
  const issued = new Map<string, string>();
  const issuer: StandInIssuer = await listen((ctx, body) => {
    if (ctx.get('x-api-key') !== apiKey) {
      ctx.status = 401;
      ctx.body = { code: 'invalid_api_key', message: 'bad key' };
      return;
    }
    const path = ctx.path;
    if (path === '/tokenization/mint' || path === '/inkind/issuance') {
      const id = String(body.tokenization_request_id ?? body.id);
      if (!issued.has(id)) issued.set(id, crypto.randomUUID());
      ctx.body = { issuer_request_id: issued.get(id), status: 'created' };
    } else if (path === '/tokenization/mint/confirm' || path === '/inkind/issuance/confirm') {
      ctx.status = issuer.confirmStatus ?? 200;
      ctx.body = ctx.status === 200 ? {} : { code: 'refused', message: 'refused' };
    } else if (path === '/tokenization/accounts/connect' || path === '/accounts/connect') {
      ctx.body = path === '/accounts/connect' ? { client_id: `EXT-${body.account}` } : { client_external_account_id: `EXT-${body.client_account_number}` };
    } else if (path === '/tokenization/tokens') {
      ctx.body = { tokens: [{ underlying: 'AAPL', token: 'tAAPL', networks: ['base'] }] };
    } else if (path === '/tokenized-assets') {
      ctx.body = [{ underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base' }];
    } else {
      ctx.status = 404;
    }
  });
  return issuer;
}

export interface Rig {
  fake: FakeAlpaca;
  issuer: StandInIssuer;
  credentials: { keyId: string; secret: string };
  client: AlpacaClient;
  clientWith(over: Partial<ConstructorParameters<typeof AlpacaClient>[0]>): AlpacaClient;
  close(): Promise<void>;
}

export async function startRig(): Promise<Rig> {
  const apiKey = crypto.randomBytes(16).toString('hex');
  const credentials = { keyId: `key-${crypto.randomBytes(4).toString('hex')}`, secret: `sec-${crypto.randomBytes(16).toString('hex')}` };
  const issuer = await startStandInIssuer(apiKey);
  const fake = await startFakeAlpaca({ issuerBaseUrl: issuer.url, issuerAuth: { apiKey }, credentials });
  const clientWith = (over: Partial<ConstructorParameters<typeof AlpacaClient>[0]>) =>
    new AlpacaClient({ baseUrl: fake.url, accountId: fake.accountId, auth: new BasicAuth(credentials.keyId, credentials.secret), timeoutMs: 2_000, ...over });
  return {
    fake,
    issuer,
    credentials,
    client: clientWith({}),
    clientWith,
    async close() {
      await fake.close();
      await issuer.close();
    },
  };
}

export const EVM_WALLET = '0x' + 'ab'.repeat(20);

/** A mint the fake requested from the stand-in issuer and confirmed `completed`: ready for its callback. */
export async function confirmedMint(fake: FakeAlpaca, over: Record<string, unknown> = {}) {
  const requested = await fake.requestMint({
    qty: '1.5',
    underlying_symbol: 'AAPL',
    token_symbol: 'tAAPL',
    network: 'base',
    wallet_address: EVM_WALLET,
    client_external_account_id: 'EXT-1',
    ...over,
  });
  if (requested.status !== 200) throw new Error(`mint request answered ${requested.status}`);
  const confirmed = await fake.confirmMint(requested.tokenization_request_id, requested.body.issuer_request_id, 'completed');
  if (confirmed.status !== 200) throw new Error(`confirm answered ${confirmed.status}`);
  return { tokenizationRequestId: requested.tokenization_request_id, issuerRequestId: requested.body.issuer_request_id as string };
}

export const txHash = () => '0x' + crypto.randomBytes(32).toString('hex');

/** The AlpacaApiError a promise rejects with (fails the test if it resolves or rejects with something else). */
export async function alpacaError(p: Promise<unknown>): Promise<AlpacaApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AlpacaApiError) return err;
    throw new Error(`expected an AlpacaApiError, got ${(err as Error)?.name}: ${(err as Error)?.message}`);
  }
  throw new Error('expected an AlpacaApiError, but the call succeeded');
}

export function redeemBody(over: Record<string, unknown> = {}) {
  return {
    issuer_request_id: `red-${crypto.randomBytes(6).toString('hex')}`,
    underlying_symbol: 'AAPL',
    token_symbol: 'tAAPL',
    qty: '2.000000001',
    network: 'base',
    wallet_address: EVM_WALLET,
    tx_hash: txHash(),
    client_external_account_id: 'EXT-1',
    ...over,
  };
}
