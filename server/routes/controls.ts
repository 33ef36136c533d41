import Router, { type RouterContext } from '@koa/router';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../../core/clock';
import type { Database } from '../../persistence/database';
import { mintedOn, redeemedOn, utcDay } from '../../persistence/controls/daily-usage';
import { quantityOf } from '../../core/quantities';
import { type AssetControls, type PauseState, RiskControls } from '../../persistence/controls/risk-controls';
import { AssetNotFoundError, type AssetRegistry, type TokenizedAsset } from '../../persistence/registry/assets';
import type { OperatorIdentity } from '../auth/operator-auth';
import { changeLimitsBody, limitsFromBody, pauseBody, replaceLimitsBody, resumeBody } from '../schemas/controls';
import { parse } from '../validate';

export interface ControlsDeps {
  db: Database;
  assets: AssetRegistry;
  clock?: Clock;
  log?: Logger;
}

/**
 * The risk controls, for operators: the emergency pause, and each asset's per-request maximum, daily
 * mint and redemption caps and approval threshold. Every change is journaled with the operator's id.
 * Approving or rejecting a mint held for approval is a flow event (POST /operator/flows/:flowId/events).
 */
export function controlsRoutes(deps: ControlsDeps): Router {
  const clock = deps.clock ?? systemClock;
  const controls = new RiskControls(deps.db, clock);
  const router = new Router({ prefix: '/operator/controls' });

  /** The pause, and every registered asset with its limits and what they have counted today (UTC). */
  router.get('/', async (ctx) => {
    const day = utcDay(clock.now());
    const limits = await controls.allLimits();
    const assets = [];
    for (const asset of await deps.assets.list()) assets.push(await assetControlsJson(asset, limits.get(asset.assetId)));
    ctx.body = { issuance: pauseJson(await controls.pauseState()), day: day.date, assets };
  });

  const setLimits = (body: typeof replaceLimitsBody | typeof changeLimitsBody) => async (ctx: RouterContext) => {
    const b = parse(body, ctx.request.body);
    const assetId = ctx.params.assetId!;
    const asset = await deps.assets.get(assetId);
    if (!asset) throw new AssetNotFoundError(assetId);
    const operator = operatorId(ctx);
    const result = await controls.setLimits(assetId, limitsFromBody(b), operator, ctx.state.requestId);
    if (result.changed) deps.log?.info({ operator, assetId, limits: b, requestId: ctx.state.requestId }, 'asset limits changed');
    ctx.body = { changed: result.changed, asset: await assetControlsJson(asset, result.controls) };
  };
  router.put('/assets/:assetId', setLimits(replaceLimitsBody));
  router.patch('/assets/:assetId', setLimits(changeLimitsBody));

  router.post('/pause', async (ctx) => {
    const b = parse(pauseBody, ctx.request.body);
    const operator = operatorId(ctx);
    const result = await controls.pause(b.reason, operator, ctx.state.requestId);
    if (result.changed) deps.log?.warn({ operator, reason: b.reason, requestId: ctx.state.requestId }, 'issuance paused: mint requests refused, chain transactions held');
    ctx.body = { changed: result.changed, issuance: pauseJson(result.state) };
  });

  router.post('/resume', async (ctx) => {
    const b = parse(resumeBody, ctx.request.body ?? {});
    const operator = operatorId(ctx);
    const result = await controls.resume(operator, b.note, ctx.state.requestId);
    if (result.changed) deps.log?.warn({ operator, note: b.note, requestId: ctx.state.requestId }, 'issuance resumed');
    ctx.body = { changed: result.changed, issuance: pauseJson(result.state) };
  });

  async function assetControlsJson(asset: TokenizedAsset, c: AssetControls | undefined) {
    const day = utcDay(clock.now());
    return {
      asset_id: asset.assetId,
      underlying_symbol: asset.underlyingSymbol,
      token_symbol: asset.tokenSymbol,
      network: asset.network,
      max_request_qty: c?.maxRequestQty ?? null,
      daily_mint_cap: c?.dailyMintCap ?? null,
      daily_redemption_cap: c?.dailyRedemptionCap ?? null,
      approval_threshold: c?.approvalThreshold ?? null,
      minted_today: quantityOf(await mintedOn(deps.db, asset, day)),
      redeemed_today: quantityOf(await redeemedOn(deps.db, asset, day)),
      updated_by: c?.updatedBy ?? null,
      updated_at: c?.updatedAt ?? null,
    };
  }

  return router;
}

function pauseJson(p: PauseState) {
  return { paused: p.paused, pause_reason: p.reason, changed_by: p.changedBy, changed_at: p.changedAt };
}

/** Who is acting: set by the operator auth middleware in front of every operator route. */
function operatorId(ctx: RouterContext): string {
  const identity = ctx.state.operator as OperatorIdentity | undefined;
  if (!identity?.id) throw new Error('operator route reached without an operator identity');
  return identity.id;
}
