import type { BlockList } from 'node:net';
import Koa, { type Middleware } from 'koa';
import compose from 'koa-compose';
import helmet from 'koa-helmet';
import type Router from '@koa/router';
import type { Database } from '../persistence/database';
import type { Logger } from 'pino';
import type { FlowHost } from '../runtime/flow-host';
import type { Clock } from '../core/clock';
import type { AccountRegistry } from '../persistence/registry/accounts';
import type { AssetRegistry } from '../persistence/registry/assets';
import { jsonBody } from './body';
import { errorHandler } from './error-handler';
import { requestId } from './request-id';
import { accountRoutes } from './routes/accounts';
import { healthRoutes } from './routes/health';
import { openApiRoutes } from './routes/openapi';
import { operatorRoutes } from './routes/operator';
import { auditRoutes } from './routes/audit';
import { reconciliationRoutes, type ReconciliationSource } from './routes/reconciliation';
import { controlsRoutes } from './routes/controls';
import { consoleOperatorRoutes, consoleRoutes } from './routes/console';
import { tokenRoutes } from './routes/tokens';
import type { ServiceMetrics } from './metrics';
import { metricsRoutes } from './routes/metrics';
import type { Registry } from 'prom-client';
import { ipAllowList } from './guards/ip-allowlist';
import { refuseControlCharacters } from './guards/control-characters';
import { authFailureLimit, type RateLimit, rateLimit } from './guards/rate-limit';
import type { AlpacaAuthState } from './auth/alpaca-auth';
import type { OperatorIdentity } from './auth/operator-auth';

/** Who may reach which endpoints, and how often. Absent parts are off. */
export interface AccessPolicy {
  /** Take the client address from X-Forwarded-For (only behind a proxy that overwrites it). */
  trustProxy?: boolean;
  alpacaAllowList?: BlockList;
  operatorAllowList?: BlockList;
  /** Per Alpaca credential (the API key, or each signature key id). */
  alpacaRateLimit?: RateLimit;
  /** Per named operator. */
  operatorRateLimit?: RateLimit;
  /** Failed authentications per client address. */
  authFailureLimit?: RateLimit;
}

export interface AppDeps {
  log: Logger;
  mode: string;
  db: Database;
  /** The service's clock: operator views measure ages and "stuck" on it. */
  clock: Clock;
  host: FlowHost;
  accounts: AccountRegistry;
  assets: AssetRegistry;
  /** Authenticates Alpaca's calls (X-API-KEY or an RFC 9421 signature). */
  alpacaAuth: Middleware;
  /** Authenticates operators (their own credential, never Alpaca's). */
  operatorAuth: Middleware;
  /** Authenticates Prometheus scrapes of `/metrics` (its own token, or an operator's). */
  metricsAuth?: Middleware;
  metrics: ServiceMetrics;
  access?: AccessPolicy;
  /** Alpaca-facing routes of the flows (mint, …), mounted behind alpacaAuth. */
  issuerRoutes?: Router[];
  bodyLimitBytes?: number;
  receiptBalance?: (network: string, vault: string, receiptId: bigint) => Promise<bigint | undefined>;
  /** Reconciles reserves on demand (the issuance service's; absent on a service without chain and Alpaca). */
  reconciliation?: ReconciliationSource;
  /** Sees every finished response (method, matched route pattern, status, body); used to check responses against the OpenAPI document. */
  onResponse?: (response: ObservedResponse) => void;
}

export interface ObservedResponse {
  method: string;
  /** The matched route pattern (`/operator/flows/:flowId`), or undefined when no route matched. */
  route?: string;
  status: number;
  contentType: string;
  body: unknown;
}

/** Every router the app mounts, by who may call it; the OpenAPI test walks these. */
export interface AppRouters {
  /** No credentials, no body: mounted before the body reader and every gate. */
  public: Router[];
  health: Router;
  metrics: Router;
  /** Everything under `/operator`, behind the operator's credential (one router per area). */
  operator: Router[];
  issuer: Router[];
}

export function appRouters(deps: AppDeps, metrics?: Registry): AppRouters {
  return {
    public: [openApiRoutes(), consoleRoutes()],
    health: healthRoutes(deps.db, deps.mode),
    metrics: metricsRoutes(deps.metrics.registry),
    operator: [operatorRoutes({ ...deps, metrics }), consoleOperatorRoutes(deps), controlsRoutes(deps), reconciliationRoutes(deps), auditRoutes(deps)],
    issuer: [accountRoutes(deps.accounts), tokenRoutes(deps.assets), ...(deps.issuerRoutes ?? [])],
  };
}

/** Builds the Koa app from its parts; no module state, so a test can run many side by side. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  const access = deps.access ?? {};
  // Forwarded headers are believed only when configured: otherwise anyone could claim an allowed address.
  app.proxy = access.trustProxy ?? false;
  app.silent = true; // errors are logged once, by errorHandler
  const metrics = deps.metrics;
  const routers = appRouters(deps, metrics.registry);
  app.use(requestId(deps.log));
  if (deps.onResponse) app.use(observeResponses(deps.onResponse));
  app.use(metrics.httpTimer);
  app.use(errorHandler(deps.log));
  app.use(helmet());
  app.use(refuseControlCharacters);

  app.use(routers.health.routes());
  for (const r of routers.public) app.use(r.routes());

  const failures = access.authFailureLimit ? authFailureLimit(access.authFailureLimit) : passThrough;
  const operatorGate = compose([
    ipAllowList(access.operatorAllowList),
    failures,
    deps.operatorAuth,
    access.operatorRateLimit ? rateLimit(access.operatorRateLimit, (ctx) => `operator:${(ctx.state.operator as OperatorIdentity | undefined)?.id}`) : passThrough,
  ]);
  app.use(guarded(compose([ipAllowList(access.operatorAllowList), failures, deps.metricsAuth ?? deps.operatorAuth]), routers.metrics));

  app.use(jsonBody(deps.bodyLimitBytes ?? 64 * 1024));

  app.use(routeScope('/operator', operatorGate, routers.operator));

  const alpacaGate = compose([
    ipAllowList(access.alpacaAllowList),
    failures,
    deps.alpacaAuth,
    access.alpacaRateLimit ? rateLimit(access.alpacaRateLimit, (ctx) => alpacaCredential(ctx.state.auth as AlpacaAuthState | undefined)) : passThrough,
  ]);
  for (const r of routers.issuer) {
    app.use(guarded(alpacaGate, r));
  }
  return app;
}

const passThrough: Middleware = (_ctx, next) => next();

/** The rate-limit key of an authenticated Alpaca call: the API key, or the signing key id. */
function alpacaCredential(auth: AlpacaAuthState | undefined): string | undefined {
  if (!auth) return undefined;
  return auth.scheme === 'signature' ? `alpaca:signature:${auth.keyid}` : 'alpaca:api-key';
}

function observeResponses(onResponse: (r: ObservedResponse) => void): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      onResponse({ method: ctx.method, route: (ctx as any)._matchedRoute, status: ctx.status, contentType: ctx.response.type, body: ctx.body });
    }
  };
}

/** Runs auth only for requests one of the router's routes would take, so unknown paths still 404. */
function guarded(auth: Middleware, router: Router): Middleware {
  const routes = router.routes();
  const allowed = router.allowedMethods();
  return async (ctx, next) => {
    const matched = router.match(ctx.path, ctx.method);
    if (!matched.path.length) return next();
    await auth(ctx, async () => {
      await routes(ctx as any, async () => {
        await allowed(ctx as any, next);
      });
    });
  };
}

function routeScope(prefix: string, auth: Middleware, routers: Router[]): Middleware {
  // A known path with the wrong method answers 405, as on the Alpaca-facing routes.
  const routes = compose(routers.flatMap((r) => [r.routes() as unknown as Middleware, r.allowedMethods() as unknown as Middleware]));
  return async (ctx, next) => {
    if (ctx.path !== prefix && !ctx.path.startsWith(`${prefix}/`)) return next();
    await auth(ctx, () => routes(ctx, next));
  };
}
