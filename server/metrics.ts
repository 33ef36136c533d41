import type { Middleware } from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../core/clock';
import type { Database } from '../persistence/database';
import { MetricsStore } from '../persistence/metrics-store';
import type { EffectObserver } from '../runtime/outbox-runner';
import type { CommittedTransition } from '../runtime/flow-host';
import type { ReconciliationReport } from './reconciliation/report';

/** What the transfer poller reports about how far behind the chain head it is. */
export interface PollerPosition {
  network: string;
  vault: string;
  head: number;
  cursor: number;
}

/**
 * Prometheus metrics (`GET /metrics`). Flow, outbox, timer and transaction gauges are read from the
 * database at scrape time, so every instance reports the same truth; counters and latency histograms
 * are this instance's own. One registry per service (no global state), so tests run services side by side.
 */
export interface ServiceMetrics {
  registry: Registry;
  httpTimer: Middleware;
  /** Feed of committed transitions (host.onTransition). */
  transition(t: CommittedTransition): void;
  /** Outbox effect attempts (the runner's observer). */
  effects: EffectObserver;
  /** One Alpaca Broker API call. */
  alpacaCall(call: { operation: string; status: number; durationMs: number }): void;
  /** One of our transactions reached the configured confirmations. */
  transactionConfirmed(tx: { kind: string; confirmations: number; secondsSinceSigned: number }): void;
  /** Where the transfer pollers stand; read at scrape time. */
  setPollerSource(source: () => Promise<PollerPosition[]>): void;
  /** The latest reconciliation of reserves (this instance's reading). */
  reserves(report: ReconciliationReport): void;
}

export interface MetricsOptions {
  clock: Clock;
  /** A flow that has not moved for this long counts as stuck. */
  stuckAfterMinutes: number;
}

export function createMetrics(db: Database, options: MetricsOptions): ServiceMetrics {
  const store = new MetricsStore(db);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'issuance_' });
  const registers = [registry];
  let pollerSource: () => Promise<PollerPosition[]> = async () => [];

  new Gauge({
    name: 'issuance_flows',
    help: 'Flows by type and state',
    labelNames: ['type', 'state', 'needs_operator'],
    registers,
    async collect() {
      this.reset();
      for (const r of await store.flowsByState()) this.set({ type: r.flowType, state: r.state, needs_operator: String(r.needsOperator) }, r.n);
    },
  });
  new Gauge({
    name: 'issuance_flows_stuck',
    help: `Active flows that have not moved for ${options.stuckAfterMinutes} minutes or more, by type and state (alert when > 0)`,
    labelNames: ['type', 'state'],
    registers,
    async collect() {
      this.reset();
      const before = new Date(options.clock.now() - options.stuckAfterMinutes * 60_000).toISOString();
      for (const r of await store.stuckFlows(before)) this.set({ type: r.flowType, state: r.state }, r.n);
    },
  });
  new Gauge({
    name: 'issuance_flows_needing_operator',
    help: 'Flows parked in a state that needs a person (alert when > 0)',
    labelNames: ['type'],
    registers,
    async collect() {
      this.reset();
      for (const r of await store.flowsNeedingOperator()) this.set({ type: r.flowType }, r.n);
    },
  });
  new Gauge({
    name: 'issuance_outbox_depth',
    help: 'Outbox effects by type and status (pending: waiting or retrying; failed: parked)',
    labelNames: ['type', 'status'],
    registers,
    async collect() {
      this.reset();
      for (const r of await store.outboxDepth()) this.set({ type: r.type, status: r.status }, r.n);
    },
  });
  new Gauge({
    name: 'issuance_timers_pending',
    help: 'Durable timers not yet fired',
    registers,
    async collect() {
      this.set(await store.pendingTimers());
    },
  });
  new Gauge({
    name: 'issuance_timer_lag_seconds',
    help: 'How late the most overdue durable timer is (0 when none is due)',
    registers,
    async collect() {
      const now = options.clock.now();
      const due = await store.oldestDueTimer(now);
      this.set(due === undefined ? 0 : Math.max(0, (now - due) / 1000));
    },
  });
  new Gauge({
    name: 'issuance_transfer_poller_lag_blocks',
    help: 'Chain head minus the last block the transfer poller has processed, per vault',
    labelNames: ['network', 'vault'],
    registers,
    async collect() {
      this.reset();
      for (const p of await pollerSource()) this.set({ network: p.network, vault: p.vault }, Math.max(0, p.head - p.cursor));
    },
  });
  new Gauge({
    name: 'issuance_transfer_cursor_block',
    help: 'Last block the transfer poller has processed, per vault',
    labelNames: ['network', 'vault'],
    registers,
    async collect() {
      this.reset();
      for (const c of await store.transferCursors()) this.set({ network: c.network, vault: c.vaultAddress }, c.lastBlock);
    },
  });
  new Gauge({
    name: 'issuance_chain_transactions',
    help: 'Our chain transactions by status (signed and broadcast ones are waiting for confirmations)',
    labelNames: ['status'],
    registers,
    async collect() {
      this.reset();
      for (const r of await store.chainTransactionsByStatus()) this.set({ status: r.status }, r.n);
    },
  });

  const transitions = new Counter({ name: 'issuance_transitions_total', help: 'Committed flow transitions by flow type and event', labelNames: ['type', 'event'], registers });
  const attempts = new Counter({ name: 'issuance_effect_attempts_total', help: 'Outbox effect attempts by effect type and outcome (succeeded, retrying, failed)', labelNames: ['effect', 'outcome'], registers });
  const effectSeconds = new Histogram({ name: 'issuance_effect_duration_seconds', help: 'Duration of one outbox effect attempt', labelNames: ['effect'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
  const alpacaSeconds = new Histogram({ name: 'issuance_alpaca_call_duration_seconds', help: 'Alpaca Broker API call latency by operation and status (0: no answer)', labelNames: ['operation', 'status'], buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
  const confirmed = new Counter({ name: 'issuance_chain_transactions_confirmed_total', help: 'Our transactions that reached the configured confirmations, by kind', labelNames: ['kind'], registers });
  const confirmSeconds = new Histogram({ name: 'issuance_chain_confirmation_seconds', help: 'Time from signing a transaction to its configured confirmations', labelNames: ['kind'], buckets: [1, 2, 5, 10, 30, 60, 120, 300, 900], registers });
  const reserveDrift = new Gauge({ name: 'issuance_reserve_drift_shares', help: 'Shares Alpaca holds for the issuer minus those the tokens outstanding call for (flows in flight accounted for), per underlying asset', labelNames: ['asset'], registers });
  const reserveReconciled = new Gauge({ name: 'issuance_reserve_reconciled', help: 'Whether the last reconciliation found the asset within tolerance: 1 yes, 0 drift or not readable (alert when 0)', labelNames: ['asset'], registers });
  const inventoryDrift = new Gauge({ name: 'issuance_reserve_inventory_drift_shares', help: 'Receipt inventory minus the supply it should back, per asset and network', labelNames: ['asset', 'network'], registers });
  const reconciledAt = new Gauge({ name: 'issuance_reserve_reconciliation_timestamp_seconds', help: 'When the last reconciliation ran (alert when it stops moving)', registers });
  const duration = new Histogram({
    name: 'issuance_http_request_duration_seconds',
    help: 'HTTP request duration by method, matched route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });

  const httpTimer: Middleware = async (ctx, next) => {
    const end = duration.startTimer();
    try {
      await next();
    } finally {
      // The route pattern, not the path: ids must not become label values.
      end({ method: ctx.method, route: (ctx as any)._matchedRoute ?? 'unmatched', status: String(ctx.status) });
    }
  };

  return {
    registry,
    httpTimer,
    transition(t) {
      transitions.inc({ type: t.definition.type, event: t.event.type });
    },
    effects: {
      attempted({ type, outcome, durationMs }) {
        attempts.inc({ effect: type, outcome });
        effectSeconds.observe({ effect: type }, durationMs / 1000);
      },
    },
    alpacaCall({ operation, status, durationMs }) {
      alpacaSeconds.observe({ operation, status: String(status) }, durationMs / 1000);
    },
    transactionConfirmed({ kind, secondsSinceSigned }) {
      confirmed.inc({ kind });
      confirmSeconds.observe({ kind }, secondsSinceSigned);
    },
    setPollerSource(source) {
      pollerSource = source;
    },
    reserves(report) {
      reserveDrift.reset();
      reserveReconciled.reset();
      inventoryDrift.reset();
      for (const a of report.assets) {
        reserveReconciled.set({ asset: a.underlying_symbol }, a.status === 'reconciled' ? 1 : 0);
        if (a.drift !== null) reserveDrift.set({ asset: a.underlying_symbol }, Number(a.drift));
        for (const n of a.networks) if (n.inventory_drift !== null) inventoryDrift.set({ asset: a.underlying_symbol, network: n.network }, Number(n.inventory_drift));
      }
      reconciledAt.set(Date.parse(report.generated_at) / 1000);
    },
  };
}
