import type { Middleware } from 'koa';
import getRawBody from 'raw-body';
import { DomainError } from '../core/errors';

/**
 * Reads the raw body once (signature checks need the exact bytes), caps its size, and parses JSON.
 * Anything but a JSON object on a write is a 4xx here, before a handler or the journal sees it.
 */
export function jsonBody(limitBytes: number): Middleware {
  return async (ctx, next) => {
    const hasBody = ['POST', 'PUT', 'PATCH'].includes(ctx.method);
    if (!hasBody) {
      ctx.state.rawBody = Buffer.alloc(0);
      return next();
    }
    const declared = Number(ctx.get('content-length') || 0);
    if (declared > limitBytes) throw new DomainError('body_too_large', `Request body exceeds ${limitBytes} bytes`);
    let raw: Buffer;
    try {
      raw = await getRawBody(ctx.req, { limit: limitBytes });
    } catch (err: any) {
      if (err?.type === 'entity.too.large') throw new DomainError('body_too_large', `Request body exceeds ${limitBytes} bytes`);
      throw new DomainError('unreadable_body', 'Request body could not be read');
    }
    ctx.state.rawBody = raw;
    if (raw.length === 0) {
      ctx.request.body = {};
      return next();
    }
    if (!ctx.is('application/json')) throw new DomainError('unsupported_media_type', 'Content-Type must be application/json');
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new DomainError('malformed_json', 'Request body is not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new DomainError('invalid_request', 'Request body must be a JSON object');
    ctx.request.body = parsed;
    return next();
  };
}

declare module 'koa' {
  interface Request {
    body?: unknown;
  }
}
