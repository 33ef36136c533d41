import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isAuthError } from '../../server/auth/errors';
import { httpStatusOf } from '../../server/http-status';
import { signRequest, type SignOptions } from '../../server/auth/http-signature';

/**
 * RFC 9421 Appendix B.1.4 test key "test-key-ed25519".
 */
export const RFC_ED25519_PRIVATE_PEM =
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n';
export const RFC_ED25519_PUBLIC_PEM =
  '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n';

export function ed25519Pair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

export interface RunningApp {
  base: string;
  app: Koa;
  close(): Promise<void>;
}

/**
 * A tiny app: error renderer ({code, message} for AuthError, 500 otherwise) → raw body reader
 * (ctx.state.rawBody, as the real body middleware will provide) → the middlewares under test →
 * a handler echoing what auth left in ctx.state.
 */
export async function startApp(middlewares: Koa.Middleware[], options: { proxy?: boolean } = {}): Promise<RunningApp> {
  const app = new Koa({ proxy: options.proxy ?? false });
  app.silent = true;
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (isAuthError(err)) {
        ctx.status = httpStatusOf(err)!;
        if (err.headers) ctx.set(err.headers);
        ctx.body = { code: err.code, message: err.message };
      } else {
        ctx.status = 500;
        ctx.body = { code: 'internal', message: 'internal error' };
      }
    }
  });
  app.use(async (ctx, next) => {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    ctx.state.rawBody = Buffer.concat(chunks);
    await next();
  });
  for (const mw of middlewares) app.use(mw);
  app.use((ctx) => {
    ctx.body = { ok: true, auth: ctx.state.auth ?? null, operator: ctx.state.operator ?? false, bodyBytes: (ctx.state.rawBody as Buffer).length };
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    app,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

export interface Reply {
  status: number;
  text: string;
  json: { code?: string; message?: string; ok?: boolean; auth?: unknown; operator?: boolean; bodyBytes?: number };
  headers: Headers;
}

export async function send(url: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  const res = await fetch(url, { method: init.method, headers: init.headers ?? {}, body: init.body });
  const text = await res.text();
  return { status: res.status, text, json: text === '' ? {} : (JSON.parse(text) as Reply['json']), headers: res.headers };
}

/** Build the headers Alpaca would send for this request (Content-Type for bodies + signature headers). */
export function signedHeaders(
  method: string,
  url: string,
  body: string | undefined,
  options: SignOptions,
  extraHeaders: Record<string, string> = {},
): Record<string, string> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const sig = signRequest({ method, targetUri: url, headers, rawBody: body === undefined ? undefined : Buffer.from(body) }, options);
  for (const [k, v] of Object.entries(sig)) if (v !== undefined) headers[k] = v;
  return headers;
}
