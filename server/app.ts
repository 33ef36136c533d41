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
}

/** Builds the Koa app from its parts; no module state, so a test can run many side by side. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = true;
  app.silent = true; // errors are logged once, by errorHandler
  const metrics = createMetrics(deps.db);
  app.use(requestId(deps.log));
  app.use(metrics.httpTimer);
  app.use(errorHandler(deps.log));

  const health = healthRoutes(deps.db, deps.mode);
  app.use(health.routes());

  app.use(jsonBody(deps.bodyLimitBytes ?? 64 * 1024));

  const operator = operatorRoutes({ ...deps, metrics: metrics.registry });
  app.use(routeScope('/operator', deps.operatorAuth, operator));

  const issuer = [accountRoutes(deps.accounts), tokenRoutes(deps.assets), ...(deps.issuerRoutes ?? [])];
  for (const r of issuer) {
    app.use(guarded(deps.alpacaAuth, r));
  }
  return app;
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
