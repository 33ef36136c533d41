import Router from '@koa/router';
import { z } from 'zod';
import type { ReconciliationReport } from '../reconciliation/report';
import { parse } from '../validate';

/** Runs one reconciliation of reserves (the issuance service's Reconciler). */
export interface ReconciliationSource {
  run(): Promise<ReconciliationReport>;
}

/**
 * `GET /operator/reconciliation`: reconciles now and answers the report. A drift is an answer, not an
 * error (200 with `status: "drift"` and its alerts); 503 only when this instance has no chain and
 * Alpaca connection to reconcile with.
 */
export function reconciliationRoutes(deps: { reconciliation?: ReconciliationSource }): Router {
  const router = new Router({ prefix: '/operator' });
  router.get('/reconciliation', async (ctx) => {
    parse(z.object({}).strict(), ctx.query);
    if (!deps.reconciliation) {
      // Answered here: the error handler shows only 4xx errors as they are.
      ctx.status = 503;
      ctx.body = { code: 'reconciliation_unavailable', message: 'This instance has no chain and Alpaca connection to reconcile reserves with' };
      return;
    }
    ctx.body = await deps.reconciliation.run();
  });
  return router;
}
