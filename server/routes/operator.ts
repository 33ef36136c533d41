import Router from '@koa/router';
import type { Knex } from 'knex';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { FlowHost } from '../../machines/host/flow-host';
import { readFlowJournal } from '../../persistence/journal';
import type { AccountRegistry } from '../../persistence/registry/accounts';
import type { AssetRegistry, TokenizedAsset } from '../../persistence/registry/assets';
import { readJson } from '../../persistence/database';
import { addAssetBody, haltBody, registerApBody, replaceWalletsBody, updateAssetBody } from '../schemas/registry';
import { parse } from '../validate';

const flowQuery = z.object({
  type: z.string().max(40).optional(),
  state: z.string().max(200).optional(),
  needs_operator: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Operators' decisions are events too; only these may be sent by hand. */
const operatorEvent = z.object({ type: z.string().max(60).regex(/^OPERATOR_[A-Z_]+$/, 'only OPERATOR_* events may be sent by an operator'), note: z.string().max(1000).optional() }).strict();

export interface OperatorDeps {
  db: Knex;
  host: FlowHost;
  accounts: AccountRegistry;
  assets: AssetRegistry;
  /** Reads the issuer's ERC-1155 receipt balance on chain (undefined when that network is not connected). */
  receiptBalance?: (network: string, vault: string, receiptId: bigint) => Promise<bigint | undefined>;
  metrics?: Registry;
}

export function operatorRoutes(deps: OperatorDeps): Router {
  const { db, host, accounts, assets } = deps;
  const router = new Router({ prefix: '/operator' });

  router.get('/aps', async (ctx) => {
    ctx.body = { authorized_participants: await accounts.list() };
  });
  router.post('/aps', async (ctx) => {
    const body = parse(registerApBody, ctx.request.body);
    ctx.status = 201;
    ctx.body = await accounts.register(body);
  });
  router.put('/aps/:apId/wallets', async (ctx) => {
    const body = parse(replaceWalletsBody, ctx.request.body);
    ctx.body = await accounts.replaceWallets(ctx.params.apId!, body.wallets);
  });

  router.get('/assets', async (ctx) => {
    ctx.body = { assets: (await assets.list()).map(assetJson) };
  });
  router.post('/assets', async (ctx) => {
    const b = parse(addAssetBody, ctx.request.body);
    ctx.status = 201;
    ctx.body = assetJson(await assets.add({ underlyingSymbol: b.underlying_symbol, tokenSymbol: b.token_symbol, network: b.network, vaultAddress: b.vault_address, decimals: b.decimals, enabled: b.enabled }));
  });
  router.patch('/assets/:assetId', async (ctx) => {
    const b = parse(updateAssetBody, ctx.request.body);
    ctx.body = assetJson(await assets.update(ctx.params.assetId!, { underlyingSymbol: b.underlying_symbol, tokenSymbol: b.token_symbol, vaultAddress: b.vault_address, decimals: b.decimals }));
  });
  router.post('/assets/:assetId/enable', async (ctx) => {
    ctx.body = assetJson(await assets.setEnabled(ctx.params.assetId!, true));
  });
  router.post('/assets/:assetId/disable', async (ctx) => {
    ctx.body = assetJson(await assets.setEnabled(ctx.params.assetId!, false));
  });
  router.post('/assets/:assetId/halt', async (ctx) => {
    const b = parse(haltBody, ctx.request.body);
    ctx.body = assetJson(await assets.halt(ctx.params.assetId!, b.reason));
  });
  router.post('/assets/:assetId/resume', async (ctx) => {
    ctx.body = assetJson(await assets.resume(ctx.params.assetId!));
  });

  router.get('/flows', async (ctx) => {
    const q = parse(flowQuery, ctx.query);
    const rows = db('flows').orderBy('updated_at', 'desc').limit(q.limit);
    if (q.type) rows.where({ flow_type: q.type });
    if (q.state) rows.where({ state: q.state });
    if (q.needs_operator) rows.where({ needs_operator: q.needs_operator === 'true' });
    ctx.body = { flows: (await rows).map((r: any) => ({ flow_id: r.flow_id, flow_type: r.flow_type, state: r.state, status: r.status, needs_operator: Boolean(r.needs_operator), seq: Number(r.seq), updated_at: r.updated_at })) };
  });
  router.get('/flows/:flowId', async (ctx) => {
    const flow = await host.require(ctx.params.flowId!);
    const journal = await readFlowJournal(db, flow.flowId);
    const effects = await db('outbox').where({ flow_id: flow.flowId }).orderBy('created_at');
    const timers = await db('timers').where({ flow_id: flow.flowId }).orderBy('due_at');
    ctx.body = {
      flow,
      journal,
      outbox: effects.map((e: any) => ({ effect_id: e.effect_id, type: e.type, status: e.status, attempts: Number(e.attempts), last_error: e.last_error, params: readJson(e.params) })),
      timers: timers.map((t: any) => ({ send_id: t.send_id, due_at: new Date(Number(t.due_at)).toISOString(), event: readJson(t.event) })),
    };
  });
  router.post('/flows/:flowId/events', async (ctx) => {
    const event = parse(operatorEvent, ctx.request.body);
    ctx.body = { flow: await host.send(ctx.params.flowId!, event, { correlationId: ctx.state.requestId }) };
  });
  /** The receipts we hold; with `?verify=chain`, each row is compared with the receipt contract's balance. */
  router.get('/receipts', async (ctx) => {
    const q = parse(z.object({ verify: z.enum(['chain']).optional() }), ctx.query);
    const rows = await db('receipt_inventory').orderBy(['vault_address', 'created_at']);
    const receipts = rows.map((r: any) => ({ vault_address: r.vault_address, receipt_id: r.receipt_id, network: r.network, token_symbol: r.token_symbol, shares_minted: r.shares_minted, shares_remaining: r.shares_remaining, minted_by: r.minted_by, tx_hash: r.tx_hash }));
    if (!q.verify || !deps.receiptBalance) {
      ctx.body = { receipts };
      return;
    }
    const checked = [];
    for (const r of receipts) {
      const onChain = await deps.receiptBalance(r.network, r.vault_address, BigInt(r.receipt_id));
      checked.push({ ...r, on_chain: onChain?.toString() ?? null, matches: onChain !== undefined && onChain.toString() === r.shares_remaining });
    }
    ctx.body = { receipts: checked, mismatches: checked.filter((c) => !c.matches).length };
  });
  router.get('/metrics', async (ctx) => {
    if (!deps.metrics) return;
    ctx.type = deps.metrics.contentType;
    ctx.body = await deps.metrics.metrics();
  });
  router.get('/outbox', async (ctx) => {
    const status = parse(z.object({ status: z.enum(['pending', 'done', 'failed', 'cancelled']).default('failed') }), ctx.query).status;
    const rows = await db('outbox').where({ status }).orderBy('created_at', 'desc').limit(200);
    ctx.body = { effects: rows.map((e: any) => ({ effect_id: e.effect_id, flow_id: e.flow_id, type: e.type, attempts: Number(e.attempts), last_error: e.last_error, updated_at: e.updated_at })) };
  });

  return router;
}

export function assetJson(a: TokenizedAsset) {
  return {
    asset_id: a.assetId,
    underlying_symbol: a.underlyingSymbol,
    token_symbol: a.tokenSymbol,
    network: a.network,
    vault_address: a.vaultAddress,
    decimals: a.decimals,
    enabled: a.enabled,
    halted: a.halted,
    halt_reason: a.haltReason,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  };
}
