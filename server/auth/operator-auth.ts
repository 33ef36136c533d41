/**
 * Bearer-token authentication for operator endpoints (escalations, manual actions). A separate
 * credential from anything Alpaca holds: `Authorization: Bearer <token>`, compared in constant time.
 */
import type { Middleware } from 'koa';
import { constantTimeEqual } from './api-key';
import { AuthError } from './errors';

export interface OperatorAuthConfig {
  /** The operator bearer token; at least 16 characters. */
  token: string;
}

export const OPERATOR_TOKEN_MIN_LENGTH = 16;

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="operator"' } as const;

/** The token from an `Authorization: Bearer <token>` header, or undefined. Scheme is case-insensitive. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
  return match?.[1];
}

export function operatorAuth(config: OperatorAuthConfig): Middleware {
  const expected = config.token;
  if (typeof expected !== 'string' || expected.length < OPERATOR_TOKEN_MIN_LENGTH) {
    throw new TypeError(`operatorAuth: token must be at least ${OPERATOR_TOKEN_MIN_LENGTH} characters`);
  }
  return async function operatorAuthMiddleware(ctx, next) {
    const token = bearerToken(ctx.get('authorization') || undefined);
    if (token === undefined) throw new AuthError('missing_credentials', undefined, CHALLENGE);
    if (!constantTimeEqual(token, expected)) {
      throw new AuthError('invalid_operator_token', undefined, { 'WWW-Authenticate': 'Bearer realm="operator", error="invalid_token"' });
    }
    ctx.state.operator = true;
    return next();
  };
}
