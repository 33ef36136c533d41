import Koa, { type Middleware } from 'koa';
import type Router from '@koa/router';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { FlowHost } from '../machines/host/flow-host';
import type { AccountRegistry } from '../persistence/registry/accounts';
import type { AssetRegistry } from '../persistence/registry/assets';
import { jsonBody } from './body';
import { errorHandler } from './error-handler';
import { requestId } from './request-id';
import { accountRoutes } from './routes/accounts';
import { healthRoutes } from './routes/health';
import { operatorRoutes } from './routes/operator';
import { tokenRoutes } from './routes/tokens';
import { createMetrics } from './metrics';
import type { Registry } from 'prom-client';

export interface AppDeps {
  log: Logger;
  mode: string;
  db: Knex;
  host: FlowHost;
  accounts: AccountRegistry;
  assets: AssetRegistry;
  /** Authenticates Alpaca's calls (X-API-KEY or an RFC 9421 signature). */
  alpacaAuth: Middleware;
  /** Authenticates operators (their own credential, never Alpaca's). */
  operatorAuth: Middleware;
  /** Alpaca-facing routes of the flows (mint, …), mounted behind alpacaAuth. */
  issuerRoutes?: Router[];
  bodyLimitBytes?: number;
  receiptBalance?: (network: string, vault: string, receiptId: bigint) => Promise<bigint | undefined>;
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
  health: Router;
  operator: Router;
  issuer: Router[];
}

export function appRouters(deps: AppDeps, metrics?: Registry): AppRouters {
  return {
    health: healthRoutes(deps.db, deps.mode),
    operator: operatorRoutes({ ...deps, metrics }),
    issuer: [accountRoutes(deps.accounts), tokenRoutes(deps.assets), ...(deps.issuerRoutes ?? [])],
  };
}

/** Builds the Koa app from its parts; no module state, so a test can run many side by side. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = true;
  app.silent = true; // errors are logged once, by errorHandler
  const metrics = createMetrics(deps.db);
  const routers = appRouters(deps, metrics.registry);
  app.use(requestId(deps.log));
  if (deps.onResponse) app.use(observeResponses(deps.onResponse));
  app.use(metrics.httpTimer);
  app.use(errorHandler(deps.log));

  app.use(routers.health.routes());

  app.use(jsonBody(deps.bodyLimitBytes ?? 64 * 1024));

  app.use(routeScope('/operator', deps.operatorAuth, routers.operator));

  for (const r of routers.issuer) {
    app.use(guarded(deps.alpacaAuth, r));
  }
  return app;
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

function routeScope(prefix: string, auth: Middleware, router: Router): Middleware {
  const routes = router.routes();
  return async (ctx, next) => {
    if (ctx.path !== prefix && !ctx.path.startsWith(`${prefix}/`)) return next();
    await auth(ctx, () => routes(ctx as any, next));
  };
}
