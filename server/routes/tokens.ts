import Router, { type RouterContext } from '@koa/router';
import type { AssetRegistry } from '../../persistence/registry/assets';

/**
 * The tokens Alpaca may mint with us: enabled and not halted. The current path groups networks per
 * token (`{tokens:[{underlying, token, networks}]}`, Alpaca's guide); the seeds' path answers the bare
 * array of `{underlying_symbol, token_symbol, network}` that earlier issuers were onboarded with.
 */
export function tokenRoutes(assets: AssetRegistry): Router {
  const router = new Router();
  const live = async () => (await assets.list({ enabledOnly: true })).filter((a) => !a.halted);
  router.get('/tokenization/tokens', async (ctx: RouterContext) => {
    const grouped = new Map<string, { underlying: string; token: string; networks: string[] }>();
    for (const a of await live()) {
      const key = `${a.underlyingSymbol}\u0000${a.tokenSymbol}`;
      const entry = grouped.get(key) ?? { underlying: a.underlyingSymbol, token: a.tokenSymbol, networks: [] };
      entry.networks.push(a.network);
      grouped.set(key, entry);
    }
    ctx.body = { tokens: [...grouped.values()] };
  });
  router.get('/tokenized-assets', async (ctx: RouterContext) => {
    ctx.body = (await live()).map((a) => ({ underlying_symbol: a.underlyingSymbol, token_symbol: a.tokenSymbol, network: a.network }));
  });
  return router;
}
