import type { Middleware } from 'koa';
import { DomainError } from '../../core/errors';

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * No id in a path of ours contains a control character, and no query value a NUL (PostgreSQL cannot
 * even compare one): such a request is a 400 before any route or query sees it.
 */
export const refuseControlCharacters: Middleware = async (ctx, next) => {
  let path: string;
  try {
    path = decodeURIComponent(ctx.path);
  } catch {
    throw new DomainError('bad_request', 'Malformed percent-encoding in the path');
  }
  if (CONTROL.test(path)) throw new DomainError('bad_request', 'The path must not contain control characters');
  for (const value of Object.values(ctx.query).flat()) {
    if (typeof value === 'string' && value.includes('\u0000')) throw new DomainError('bad_request', 'The query must not contain NUL characters');
  }
  return next();
};
