import Router from '@koa/router';
import type { Registry } from 'prom-client';

/** Prometheus scrape endpoint; the app puts it behind the metrics credential. */
export function metricsRoutes(registry: Registry): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  return router;
}
