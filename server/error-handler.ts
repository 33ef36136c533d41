import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { DomainError } from '../core/errors';
import { loggableError } from '../core/safe-error';
import { HTTP_STATUS } from './http-status';


/** The one place errors become HTTP: `{ code, message }`, 4xx for the caller's mistakes, a bare 500 otherwise. */
export function errorHandler(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { code: 'route_not_found', message: `No route for ${ctx.method} ${ctx.path}` };
      } else if ((ctx.status === 405 || ctx.status === 501) && !ctx.body) {
        // 501 is what the router says of a method it does not know at all (PURGE, LOCK…): for the caller it is a 405.
        ctx.status = 405;
        ctx.body = { code: 'method_not_allowed', message: `${ctx.method} is not allowed on ${ctx.path}` };
      }
    } catch (err) {
      if (err instanceof ZodError) {
        ctx.status = 400;
        ctx.body = {
          code: 'invalid_request',
          message: 'Request failed validation',
          // Paths and reasons only: never echo submitted values (they may hold secrets).
          issues: err.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message })),
        };
        return;
      }
      if (err instanceof DomainError && HTTP_STATUS[err.code] < 500) {
        ctx.status = HTTP_STATUS[err.code];
        // A challenge (WWW-Authenticate) and the like travel with the error.
        const headers = (err as { headers?: Record<string, string> }).headers;
        if (headers) for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
        ctx.body = { code: err.code, message: err.message, ...(err.details ?? {}) };
        // The body of an oversized request was not read: do not let the client reuse this connection.
        if (ctx.status === 413) ctx.set('Connection', 'close');
        return;
      }
      const pgCode = (err as { code?: unknown }).code;
      if (pgCode === '22021' || pgCode === '22P05') {
        // PostgreSQL refuses a NUL (or untranslatable) character in text; the transaction wrote nothing.
        ctx.status = 400;
        ctx.body = { code: 'invalid_characters', message: 'Text fields must not contain NUL characters' };
        return;
      }
      const status = (err as { status?: number; expose?: boolean }).status;
      if (typeof status === 'number' && ((status >= 400 && status < 500) || status === 501)) {
        // Koa / router HTTP errors (405 and 501 from allowedMethods, 400 from a malformed URI).
        ctx.status = status === 501 ? 405 : status;
        ctx.body = { code: ctx.status === 405 ? 'method_not_allowed' : 'bad_request', message: ctx.status === 405 ? `${ctx.method} is not allowed on ${ctx.path}` : 'Bad request' };
        return;
      }
      log.error({ error: loggableError(err), requestId: ctx.state.requestId }, 'unhandled error');
      ctx.status = 500;
      ctx.body = { code: 'internal_error', message: 'Internal error', request_id: ctx.state.requestId };
    }
  };
}
