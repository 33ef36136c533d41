import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { newId } from '../core/ids';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Tags each request with an id (the caller's if it sent a sane one), echoes it, and logs one line per request. */
export function requestId(log: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const id = SAFE_ID.test(incoming) ? incoming : newId();
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.info({ requestId: id, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
