import crypto from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type Router from '@koa/router';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../core/clock';
import type { EffectAdapters } from '../runtime/effect-adapter';
import type { FlowDefinition } from '../persistence/flow-definition';
import { FlowHost } from '../runtime/flow-host';
import { OutboxRunner, type OutboxRunnerOptions } from '../runtime/outbox-runner';
import { TimerScheduler } from '../runtime/timer-scheduler';
import { startLiveInspection } from '../runtime/live-inspection';
import { type Database, type DatabaseConfig, openDatabase, openReadPool, sqliteFile } from '../persistence/database';
import { KnexNonceStore } from '../persistence/nonce-store';
import { AccountRegistry } from '../persistence/registry/accounts';
import { AssetRegistry } from '../persistence/registry/assets';
import { issuancePaused } from '../persistence/controls/risk-controls';
import { type AppDeps, createApp } from './app';
import { alpacaAuth, operatorAuth } from './auth';
import type { ServiceConfig } from './config';
import { createMetrics, type ServiceMetrics } from './metrics';

export interface ServiceParts {
  /** Names this process among several on one database (leases, logs). */
  instanceId: string;
  metrics: ServiceMetrics;
  db: Database;
  /** Reads on the request path (the writer itself on PostgreSQL). */
  reader: Database;
  host: FlowHost;
  accounts: AccountRegistry;
  assets: AssetRegistry;
  clock: Clock;
  log: Logger;
}

/** What a flow kind (mint, redemption) plugs into the service. */
export interface FlowModule {
  definition: FlowDefinition;
  effects: (parts: ServiceParts) => EffectAdapters;
  routes?: (parts: ServiceParts) => Router[];
}

export interface Service extends ServiceParts {
  server: http.Server;
  runner: OutboxRunner;
  scheduler: TimerScheduler;
  url: string;
  close(): Promise<void>;
}

/** Resolves true if `work` settles before the deadline, false if the deadline comes first. */
async function within(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function databaseConfig(config: ServiceConfig): DatabaseConfig {
  return config.databaseUrl ? { client: 'pg', connection: config.databaseUrl, schema: config.databaseSchema } : sqliteFile(config.dataDir);
}

/**
 * Composition root: opens the journal, restores every flow, starts the effect runner and timer
 * scheduler, and serves HTTP. Nothing here is global, so tests run several services side by side.
 */
export async function startService(
  config: ServiceConfig,
  log: Logger,
  moduleSource: FlowModule[] | ((base: { db: Database; clock: Clock; log: Logger; metrics: ServiceMetrics }) => Promise<FlowModule[]>) = [],
  options: {
    clock?: Clock;
    runner?: OutboxRunnerOptions;
    timerPollMs?: number;
    autoRun?: boolean;
    onClose?: () => Promise<void>;
    receiptBalance?: (network: string, vault: string, receiptId: bigint) => Promise<bigint | undefined>;
    reconciliation?: AppDeps['reconciliation'];
    onResponse?: AppDeps['onResponse'];
  } = {},
): Promise<Service> {
  const clock = options.clock ?? systemClock;
  const db = await openDatabase(databaseConfig(config));
  const reader = openReadPool(databaseConfig(config), db);
  const metrics = createMetrics(db, { clock, stuckAfterMinutes: config.stuckFlowMinutes ?? 30 });
  const modules = typeof moduleSource === 'function' ? await moduleSource({ db, clock, log, metrics }) : moduleSource;
  const host = new FlowHost(db, modules.map((m) => m.definition), clock);
  host.onTransition((t) => metrics.transition(t));
  const flowLog = log.child({ part: 'flow-host' });
  host.onTransition((t) => {
    // The tokenization request id ties a flow's lines to Alpaca's request and to the HTTP requests about it.
    const context = t.flow.snapshot.context as { tokenizationRequestId?: string } | undefined;
    flowLog.info(
      { flowId: t.flowId, flowType: t.definition.type, seq: t.flow.seq, event: t.event.type, state: t.flow.state, needsOperator: t.flow.needsOperator, correlationId: context?.tokenizationRequestId ?? t.flowId },
      'flow transition',
    );
  });
  const parts: ServiceParts = { instanceId: config.instanceId ?? `${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`, metrics, db, reader, host, accounts: new AccountRegistry(db, clock, reader), assets: new AssetRegistry(db, clock, reader), clock, log };

  const effects: EffectAdapters = {};
  for (const m of modules) Object.assign(effects, m.effects(parts));
  const runner = new OutboxRunner(db, host, effects, clock, log.child({ part: 'outbox-runner' }), { exclusive: !config.databaseUrl, leaseMs: config.outboxLeaseMs, observer: metrics.effects, transactionsHeld: () => issuancePaused(db), ...options.runner });
  const scheduler = new TimerScheduler(db, host, clock, log.child({ part: 'timer-scheduler' }), options.timerPollMs);
  // Look at the outbox only when a commit wrote to it, and at the timers only when one is due now:
  // under load every other kick would be two more queries per transition.
  host.onCommitted((notice) => {
    if (notice.effects) runner.kick();
    if (notice.timerDueAt !== undefined && notice.timerDueAt <= clock.now()) scheduler.kick();
  });

  const inspection = config.inspectUrl ? await startLiveInspection(host, config.inspectUrl, log, { allowRemote: config.inspectAllowRemote ?? false }) : undefined;
  const restored = await host.restoreAll();
  log.info(restored, 'flows restored');

  const app = createApp({
    ...parts,
    mode: config.mode,
    bodyLimitBytes: config.bodyLimitBytes,
    alpacaAuth: alpacaAuth({
      apiKey: config.inbound.apiKey,
      signatureKeys: config.inbound.signatureKeys,
      publicBaseUrl: config.inbound.publicBaseUrl,
      maxAgeSeconds: config.inbound.maxAgeSeconds,
      nonceStore: new KnexNonceStore(db, () => clock.now()),
      now: () => clock.now(),
    }),
    operatorAuth: operatorAuth({ token: config.operatorToken, operators: config.operators }),
    metricsAuth: operatorAuth({ token: config.operatorToken, operators: new Map([...(config.operators ?? []), ...(config.metricsToken ? [['prometheus', config.metricsToken] as [string, string]] : [])]) }),
    access: config.access,
    issuerRoutes: modules.flatMap((m) => m.routes?.(parts) ?? []),
    receiptBalance: options.receiptBalance,
    reconciliation: options.reconciliation,
    onResponse: options.onResponse,
  });

  const server = http.createServer(app.callback());
  // Requests Node refuses before Koa sees them (bad request line, bad header characters) still get the JSON error shape.
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') return socket.destroy();
    const head = err.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    const body = head ? '' : JSON.stringify({ code: 'bad_request', message: 'Malformed HTTP request' });
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;

  if (options.autoRun !== false) {
    await runner.start();
    scheduler.start();
  }

  let closing: Promise<void> | undefined;
  const shutdownTimeoutMs = config.shutdownTimeoutMs ?? 20_000;
  return {
    ...parts,
    server,
    runner,
    scheduler,
    url,
    /**
     * Graceful stop: no new connections, in-flight requests and effects get until the shutdown bound
     * to finish, then the database closes. Whatever is cut off is safe: an unanswered request is
     * retried by its caller, and an effect's lease is taken back and the effect re-run idempotently.
     */
    close() {
      closing ??= (async () => {
        const deadline = Date.now() + shutdownTimeoutMs;
        const requestsDone = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const requestsFinished = await within(requestsDone, deadline);
        server.closeAllConnections();
        const workFinished = await within(Promise.all([runner.stop(), scheduler.stop(), options.onClose?.()]), deadline);
        if (!requestsFinished || !workFinished) log.warn({ requestsFinished, workFinished, shutdownTimeoutMs }, 'shutdown bound reached; unfinished work resumes at the next start');
        inspection?.stop();
        if (reader !== db) await reader.destroy();
        await db.destroy();
      })();
      return closing;
    },
  };
}
