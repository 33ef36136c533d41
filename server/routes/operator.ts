import Router, { type RouterContext } from '@koa/router';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { type Clock, iso, systemClock } from '../../core/clock';
import { DomainError, EventNotAcceptedError } from '../../core/errors';
import type { FlowHost } from '../../runtime/flow-host';
import type { StoredFlow } from '../../persistence/flow-definition';
import { type JournalEntry, readFlowJournal } from '../../persistence/journal';
import type { AccountRegistry } from '../../persistence/registry/accounts';
import type { AssetRegistry, TokenizedAsset } from '../../persistence/registry/assets';
import { type Database, readJson } from '../../persistence/database';
import { type OperatorEffect, OperatorStore } from '../../persistence/operator-store';
import type { OperatorIdentity } from '../auth/operator-auth';
import { addAssetBody, haltBody, registerApBody, replaceWalletsBody, updateAssetBody } from '../schemas/registry';
import { parse } from '../validate';

const OPERATOR_EVENT_TYPE = /^OPERATOR_[A-Z_]+$/;
/** A flow whose snapshot has not moved for this long is listed by `stuck=true` unless the caller says otherwise. */
export const DEFAULT_STUCK_MINUTES = 30;

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** Position after the last row of a page: `(updated_at, flow_id)` of that row, opaque to the caller. */
const pageCursor = z.string().max(400).transform((raw, ctx) => {
  try {
    const position: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(position) && position.length === 2 && typeof position[0] === 'string' && typeof position[1] === 'string') return { updatedAt: position[0], flowId: position[1] };
  } catch {
    // reported below
  }
  ctx.issues.push({ code: 'custom', message: 'not a cursor this endpoint returned', input: raw });
  return z.NEVER;
});

const encodeCursor = (flow: StoredFlow) => Buffer.from(JSON.stringify([flow.updatedAt, flow.flowId])).toString('base64url');

/** Unknown parameters are refused: a misspelt filter must not silently list every flow. */
const flowListQuery = z
  .object({
    type: z.string().max(40).optional(),
    /** A state name, or a parent state (a parent lists its substates too). */
    state: z.string().min(1).max(200).optional(),
    /** Flows whose state carries this tag (machines/tags.ts), e.g. approvalPending. */
    tag: z.string().min(1).max(60).optional(),
    /** Token or underlying symbol, any case (`tAAPL`, `AAPL`). */
    asset: z.string().min(1).max(40).optional(),
    needs_operator: flag.optional(),
    /** Not final, and no event recorded for `stuck_minutes`. */
    stuck: flag.optional(),
    stuck_minutes: z.coerce.number().int().min(1).max(60 * 24 * 365).optional(),
    /** Created at least this many seconds ago. */
    older_than: z.coerce.number().int().min(0).max(10 * 365 * 24 * 3600).optional(),
    /** Created at or after this instant (ISO 8601). */
    since: z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString()).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: pageCursor.optional(),
  })
  .strict()
  .refine((q) => q.stuck_minutes === undefined || q.stuck === true, { message: 'stuck_minutes applies only with stuck=true', path: ['stuck_minutes'] });

/** Operators' decisions are events too; only these may be sent by hand. */
const operatorEvent = z.object({ type: z.string().max(60).regex(OPERATOR_EVENT_TYPE, 'only OPERATOR_* events may be sent by an operator'), note: z.string().max(1000).optional() }).strict();

const effectRetryBody = z.object({ note: z.string().max(1000).optional() }).strict();

export interface OperatorDeps {
  db: Database;
  host: FlowHost;
  accounts: AccountRegistry;
  assets: AssetRegistry;
  /** Reads the issuer's ERC-1155 receipt balance on chain (undefined when that network is not connected). */
  receiptBalance?: (network: string, vault: string, receiptId: bigint) => Promise<bigint | undefined>;
  metrics?: Registry;
  /** The service's clock (the composition root passes its parts, clock included): ages and "stuck" are measured on it. */
  clock?: Clock;
  log?: Logger;
}

export function operatorRoutes(deps: OperatorDeps): Router {
  const { db, host, accounts, assets } = deps;
  const store = new OperatorStore(db);
  const clock = deps.clock ?? systemClock;
  const router = new Router({ prefix: '/operator' });

  router.get('/aps', async (ctx) => {
    ctx.body = { authorized_participants: await accounts.list() };
  });
  router.post('/aps', async (ctx) => {
    const body = parse(registerApBody, ctx.request.body);
    ctx.status = 201;
    ctx.body = await accounts.register(body, operatorId(ctx));
  });
  router.put('/aps/:apId/wallets', async (ctx) => {
    const body = parse(replaceWalletsBody, ctx.request.body);
    ctx.body = await accounts.replaceWallets(ctx.params.apId!, body.wallets, operatorId(ctx));
  });

  router.get('/assets', async (ctx) => {
    ctx.body = { assets: (await assets.list()).map(assetJson) };
  });
  router.post('/assets', async (ctx) => {
    const b = parse(addAssetBody, ctx.request.body);
    ctx.status = 201;
    ctx.body = assetJson(await assets.add({ underlyingSymbol: b.underlying_symbol, tokenSymbol: b.token_symbol, network: b.network, vaultAddress: b.vault_address, decimals: b.decimals, enabled: b.enabled }, operatorId(ctx)));
  });
  router.patch('/assets/:assetId', async (ctx) => {
    const b = parse(updateAssetBody, ctx.request.body);
    ctx.body = assetJson(await assets.update(ctx.params.assetId!, { underlyingSymbol: b.underlying_symbol, tokenSymbol: b.token_symbol, vaultAddress: b.vault_address, decimals: b.decimals }, operatorId(ctx)));
  });
  router.post('/assets/:assetId/enable', async (ctx) => {
    ctx.body = assetJson(await assets.setEnabled(ctx.params.assetId!, true, operatorId(ctx)));
  });
  router.post('/assets/:assetId/disable', async (ctx) => {
    ctx.body = assetJson(await assets.setEnabled(ctx.params.assetId!, false, operatorId(ctx)));
  });
  router.post('/assets/:assetId/halt', async (ctx) => {
    const b = parse(haltBody, ctx.request.body);
    ctx.body = assetJson(await assets.halt(ctx.params.assetId!, b.reason, operatorId(ctx)));
  });
  router.post('/assets/:assetId/resume', async (ctx) => {
    ctx.body = assetJson(await assets.resume(ctx.params.assetId!, operatorId(ctx)));
  });

  /** Newest activity first; `next_cursor` fetches the page after this one. */
  router.get('/flows', async (ctx) => {
    const q = parse(flowListQuery, ctx.query);
    const now = clock.now();
    const { flows, more } = await store.listFlows({
      type: q.type,
      state: q.state,
      tag: q.tag,
      asset: q.asset,
      needsOperator: q.needs_operator,
      stuckSince: q.stuck ? iso(now - (q.stuck_minutes ?? DEFAULT_STUCK_MINUTES) * 60_000) : undefined,
      createdAtOrBefore: q.older_than !== undefined ? iso(now - q.older_than * 1000) : undefined,
      createdAtOrAfter: q.since,
      after: q.cursor,
      limit: q.limit,
    });
    ctx.body = { flows: flows.map(flowSummary), next_cursor: more ? encodeCursor(flows[flows.length - 1]!) : null };
  });

  /** Everything an operator needs to decide: snapshot, readable journal timeline, effects, timers, and the operator events the state takes. */
  router.get('/flows/:flowId', async (ctx) => {
    const flow = await host.require(ctx.params.flowId!);
    const journal = await readFlowJournal(db, flow.flowId);
    const effects = await store.effectsOf(flow.flowId);
    const timers = await store.timersOf(flow.flowId);
    const now = clock.now();
    ctx.body = {
      flow,
      operator_events: acceptedOperatorEvents(host, flow),
      timeline: journal.map(timelineEntry),
      journal,
      outbox: effects.map((e) => effectJson(e, now)),
      timers: timers.map((t) => ({ send_id: t.sendId, due_at: new Date(t.dueAt).toISOString(), event: t.event })),
    };
  });

  /** The event is journaled with the operator who sent it (`operator` in its payload). */
  router.post('/flows/:flowId/events', async (ctx) => {
    const event = parse(operatorEvent, ctx.request.body);
    const flowId = ctx.params.flowId!;
    const operator = operatorId(ctx);
    try {
      ctx.body = { flow: await host.send(flowId, { ...event, operator }, { correlationId: ctx.state.requestId }) };
    } catch (err) {
      if (!(err instanceof EventNotAcceptedError)) throw err;
      const flow = await host.get(flowId);
      throw new DomainError('event_not_accepted', err.message, { ...err.details, operator_events: flow ? acceptedOperatorEvents(host, flow) : [] });
    }
    deps.log?.info({ operator, flowId, event: event.type, requestId: ctx.state.requestId }, 'operator event accepted');
  });

  /**
   * Runs an effect now instead of at the end of its backoff. Only a pending effect can be brought
   * forward: one that failed for good has already told its flow, which now waits in an operator
   * state for the machine's own OPERATOR_RETRY* event (re-running the row behind the machine's back
   * would perform a side effect whose result the flow no longer takes). The attempt still counts
   * against the effect's retry budget. It is not a flow event (the machine never sees it), so it is
   * journaled as an `effect.made_due` event of the entity `effect:<effectId>` with the operator's id,
   * in the same transaction as the outbox change.
   */
  router.post('/flows/:flowId/effects/:effectId/retry', async (ctx) => {
    const body = parse(effectRetryBody, ctx.request.body ?? {});
    const flow = await host.require(ctx.params.flowId!);
    const effectId = ctx.params.effectId!;
    const operator = operatorId(ctx);
    const row = await store.effect(effectId, flow.flowId);
    if (!row) throw new DomainError('effect_not_found', `Flow ${flow.flowId} has no effect ${effectId}`);
    const now = clock.now();
    if (row.status === 'done') throw new DomainError('effect_already_done', `Effect ${effectId} is done`, { status: row.status });
    if (row.status === 'cancelled') {
      throw new DomainError('effect_cancelled', `Effect ${effectId} was cancelled (the flow left the state that asked for it); it cannot be retried`, { status: row.status, state: flow.state });
    }
    if (row.status === 'failed') {
      const events = acceptedOperatorEvents(host, flow);
      const hint = events.length
        ? `the flow is in ${flow.state}; send ${events.join(' or ')} to POST /operator/flows/:flowId/events`
        : `the flow is in ${flow.state}, which takes no operator event`;
      throw new DomainError('effect_failed_use_operator_event', `Effect ${effectId} failed for good and its flow was told; ${hint}`, { status: row.status, state: flow.state, operator_events: events });
    }
    if (Number(row.lease_until) > now) throw new DomainError('effect_running', `Effect ${effectId} is being performed right now`, { status: row.status });
    if (Number(row.next_attempt_at) <= now) {
      ctx.body = { outcome: 'already_due', effect: effectJson(row, now) };
      return;
    }
    const annotation = `made due by ${operator} at ${iso(now)}${body.note ? ` (${body.note})` : ''}`;
    const lastError = row.last_error ? `${annotation}; last error: ${row.last_error}` : annotation;
    const madeDue = await store.makeEffectDue({ effect: row, flowId: flow.flowId, operator, note: body.note, lastError, now, correlationId: ctx.state.requestId });
    if (!madeDue) throw new DomainError('effect_changed', `Effect ${effectId} changed while it was being retried; look at it again`);
    deps.log?.info({ operator, flowId: flow.flowId, effectId, effectType: row.type, attempts: Number(row.attempts), wasDueAt: iso(Number(row.next_attempt_at)), note: body.note, requestId: ctx.state.requestId }, 'operator made an effect due now');
    const after = await store.effect(effectId);
    ctx.body = { outcome: 'made_due', operator, effect: effectJson(after!, now) };
  });

  /** The receipts we hold; with `?verify=chain`, each row is compared with the receipt contract's balance. */
  router.get('/receipts', async (ctx) => {
    const q = parse(z.object({ verify: z.enum(['chain']).optional() }), ctx.query);
    const receipts = await store.heldReceipts();
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
    const rows = await store.effectsWithStatus(status, 200);
    ctx.body = { effects: rows.map((e) => ({ effect_id: e.effect_id, flow_id: e.flow_id, type: e.type, status: e.status, attempts: Number(e.attempts), next_attempt_at: iso(Number(e.next_attempt_at)), last_error: e.last_error, updated_at: e.updated_at })) };
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

/** Who is acting: set by the operator auth middleware in front of every route here. */
function operatorId(ctx: RouterContext): string {
  const identity = ctx.state.operator as OperatorIdentity | undefined;
  if (!identity?.id) throw new Error('operator route reached without an operator identity');
  return identity.id;
}

/** One row of the flow list; the asset and amount come from the flow's own context. */
function flowSummary(f: StoredFlow) {
  const c = (f.snapshot.context ?? {}) as Record<string, any>;
  return {
    flow_id: f.flowId,
    flow_type: f.flowType,
    state: f.state,
    status: f.status,
    needs_operator: f.needsOperator,
    tags: f.tags,
    seq: f.seq,
    underlying_symbol: c.underlyingSymbol ?? null,
    token_symbol: c.tokenSymbol ?? null,
    qty: c.qty ?? null,
    failure: c.failure ? `${c.failure.code}: ${c.failure.message}` : null,
    created_at: f.createdAt,
    updated_at: f.updatedAt,
  };
}

/** A journal entry as an operator reads it: the event's fields without its type, and who sent it if a person did. */
function timelineEntry(e: JournalEntry) {
  const { type: _type, ...payload } = e.payload as Record<string, unknown>;
  return {
    seq: e.seq,
    recorded_at: e.recordedAt,
    type: e.type,
    payload,
    operator: typeof payload.operator === 'string' ? payload.operator : null,
    correlation_id: e.correlationId,
    causation_id: e.causationId,
  };
}

function effectJson(e: OperatorEffect, now: number) {
  return {
    effect_id: e.effect_id,
    type: e.type,
    status: e.status,
    attempts: Number(e.attempts),
    next_attempt_at: iso(Number(e.next_attempt_at)),
    in_backoff: e.status === 'pending' && Number(e.next_attempt_at) > now,
    running: e.status === 'pending' && Number(e.lease_until) > now,
    last_error: e.last_error,
    issued_in: e.issued_in,
    created_at: e.created_at,
    updated_at: e.updated_at,
    params: readJson(e.params),
  };
}

/** The OPERATOR_* events the flow's current state would take (none once it is final). */
export function acceptedOperatorEvents(host: FlowHost, flow: StoredFlow): string[] {
  if (flow.status !== 'active') return [];
  const def = host.definition(flow.flowType);
  const snapshot = host.restoreSnapshot(def.machine, flow);
  return def.machine.events.filter((type) => OPERATOR_EVENT_TYPE.test(type) && snapshot.can({ type }));
}
