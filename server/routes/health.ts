import Router from '@koa/router';
import type { Database } from '../../persistence/database';
import { pingDatabase } from '../../persistence/health-probe';

export function healthRoutes(db: Database, mode: string): Router {
  const router = new Router();
  router.get('/health/live', (ctx) => {
    ctx.body = { status: 'ok', mode };
  });
  router.get('/health/ready', async (ctx) => {
    try {
      await pingDatabase(db);
      ctx.body = { status: 'ready', mode, database: 'ok' };
    } catch {
      ctx.status = 503;
      ctx.body = { code: 'not_ready', message: 'database unreachable' };
    }
  });
  return router;
}
