/**
 * Bearer-token authentication for operator endpoints (escalations, manual actions). A separate
 * credential from anything Alpaca holds: `Authorization: Bearer <token>`, compared in constant time.
 * Each token belongs to a named operator, and that name is what operator actions are journaled under.
 */
import type { Middleware } from 'koa';
import { constantTimeEqual } from './api-key';
import { AuthError } from './errors';

export interface OperatorAuthConfig {
  /** A single operator bearer token (at least 16 characters), known as `operator`. */
  token?: string;
  /** Named operators: identity → bearer token. */
  operators?: ReadonlyMap<string, string>;
}

/** Who is calling an operator endpoint; set on `ctx.state.operator` by the middleware. */
export interface OperatorIdentity {
  id: string;
}

export const OPERATOR_TOKEN_MIN_LENGTH = 16;
export const DEFAULT_OPERATOR_ID = 'operator';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="operator"' } as const;

/** The token from an `Authorization: Bearer <token>` header, or undefined. Scheme is case-insensitive. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
  return match?.[1];
}

export function operatorAuth(config: OperatorAuthConfig): Middleware {
  const operators: [string, string][] = [...(config.operators ?? new Map())];
  if (config.token !== undefined && config.token !== '') operators.push([DEFAULT_OPERATOR_ID, config.token]);
  if (operators.length === 0) throw new TypeError('operatorAuth: at least one operator token is needed');
  for (const [id, token] of operators) {
    if (typeof token !== 'string' || token.length < OPERATOR_TOKEN_MIN_LENGTH) {
      throw new TypeError(`operatorAuth: the token of ${id} must be at least ${OPERATOR_TOKEN_MIN_LENGTH} characters`);
    }
  }
  return async function operatorAuthMiddleware(ctx, next) {
    const token = bearerToken(ctx.get('authorization') || undefined);
    if (token === undefined) throw new AuthError('missing_credentials', undefined, CHALLENGE);
    // Compare against every token (no early exit), so timing does not tell which operator matched.
    let matched: string | undefined;
    for (const [id, expected] of operators) {
      if (constantTimeEqual(token, expected) && matched === undefined) matched = id;
    }
    if (matched === undefined) {
      throw new AuthError('invalid_operator_token', undefined, { 'WWW-Authenticate': 'Bearer realm="operator", error="invalid_token"' });
    }
    const identity: OperatorIdentity = { id: matched };
    ctx.state.operator = identity;
    return next();
  };
}
