import type { Knex } from 'knex';
import type { Middleware } from 'koa';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics for operators (`GET /operator/metrics`). Flow, outbox and timer gauges are read
 * from the database at scrape time, so every instance reports the same truth; request durations and
 * process metrics are this instance's own. One registry per app (no global state).
 */
export function createMetrics(db: Knex): { registry: Registry; httpTimer: Middleware } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'issuance_' });

  new Gauge({
    name: 'issuance_flows',
    help: 'Flows by type and state',
    labelNames: ['type', 'state', 'needs_operator'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db('flows').select('flow_type', 'state', 'needs_operator').count({ n: '*' }).groupBy('flow_type', 'state', 'needs_operator');
      for (const r of rows as any[]) this.set({ type: r.flow_type, state: r.state, needs_operator: String(Boolean(r.needs_operator)) }, Number(r.n));
    },
  });
  new Gauge({
    name: 'issuance_outbox_effects',
    help: 'Outbox effects by type and status (pending ones are waiting or retrying; failed ones need a look)',
    labelNames: ['type', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db('outbox').whereIn('status', ['pending', 'failed']).select('type', 'status').count({ n: '*' }).groupBy('type', 'status');
      for (const r of rows as any[]) this.set({ type: r.type, status: r.status }, Number(r.n));
    },
  });
  new Gauge({
    name: 'issuance_timers_pending',
    help: 'Durable timers not yet fired',
    registers: [registry],
    async collect() {
      const [row] = await db('timers').count({ n: '*' });
      this.set(Number(row?.n ?? 0));
    },
  });
  new Gauge({
    name: 'issuance_transfer_cursor_block',
    help: 'Last block the transfer poller has processed, per vault',
    labelNames: ['network', 'vault'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await db('chain_cursor')) this.set({ network: r.network, vault: r.vault_address }, Number(r.last_block));
    },
  });

  const duration = new Histogram({
    name: 'issuance_http_request_duration_seconds',
    help: 'HTTP request duration by method, matched route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
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
  return { registry, httpTimer };
}
