import Router from '@koa/router';
import type { Knex } from 'knex';

export function healthRoutes(db: Knex, mode: string): Router {
  const router = new Router();
  router.get('/health/live', (ctx) => {
    ctx.body = { status: 'ok', mode };
  });
  router.get('/health/ready', async (ctx) => {
    try {
      await db.raw('select 1');
      ctx.body = { status: 'ready', mode, database: 'ok' };
    } catch {
      ctx.status = 503;
      ctx.body = { code: 'not_ready', message: 'database unreachable' };
    }
  });
  return router;
}
