import Router, { type RouterContext } from '@koa/router';
import type { AccountRegistry } from '../../persistence/registry/accounts';
import { connectBody } from '../schemas/registry';
import { parse } from '../validate';

/** Alpaca links an AP's Alpaca account to the AP we registered; both path sets share this handler. */
export function accountRoutes(accounts: AccountRegistry): Router {
  const router = new Router();
  const connect = (shape: 'current' | 'legacy') => async (ctx: RouterContext) => {
    const body = parse(connectBody, ctx.request.body);
    const { apId } = await accounts.link(body);
    ctx.status = 200;
    ctx.body = shape === 'current' ? { client_external_account_id: apId } : { client_id: apId };
  };
  router.post('/tokenization/accounts/connect', connect('current'));
  router.post('/accounts/connect', connect('legacy'));
  return router;
}
