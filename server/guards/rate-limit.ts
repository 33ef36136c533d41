import type { Context, Middleware } from 'koa';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError } from '../../core/errors';
import { httpStatusOf } from '../http-status';

export interface RateLimit {
  /** Requests allowed per window for one key. */
  points: number;
  windowSeconds: number;
}

/**
 * Token-bucket-like limit per key (a credential, an operator, a client address): over the limit the
 * caller gets 429 `rate_limited` with `Retry-After`, and nothing is read or written. Counters live in
 * this process; with several instances each enforces its own share.
 */
export function rateLimit(limit: RateLimit, keyOf: (ctx: Context) => string | undefined): Middleware {
  const limiter = new RateLimiterMemory({ points: limit.points, duration: limit.windowSeconds });
  return async (ctx, next) => {
    const key = keyOf(ctx);
    if (key !== undefined) {
      try {
        await limiter.consume(key);
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
        ctx.set('Retry-After', String(retryAfter));
        throw new DomainError('rate_limited', `Too many requests; retry after ${retryAfter} s`);
      }
    }
    return next();
  };
}

/** Counts only requests that end in 401/403, per client address: slows credential guessing without touching good callers. */
export function authFailureLimit(limit: RateLimit): Middleware {
  const limiter = new RateLimiterMemory({ points: limit.points, duration: limit.windowSeconds });
  return async (ctx, next) => {
    const state = await limiter.get(ctx.ip);
    if (state && state.consumedPoints >= limit.points) {
      const retryAfter = Math.max(1, Math.ceil(state.msBeforeNext / 1000));
      ctx.set('Retry-After', String(retryAfter));
      throw new DomainError('rate_limited', `Too many failed authentications; retry after ${retryAfter} s`);
    }
    try {
      await next();
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 401 || status === 403) await limiter.penalty(ctx.ip, 1);
      throw err;
    }
  };
}
