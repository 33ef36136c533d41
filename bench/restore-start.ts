import fs from 'node:fs';
import path from 'node:path';
import { FlowHost } from '../runtime/flow-host';
import type { RestoreSummary } from '../runtime/restore';
import type { ServiceConfig } from '../server/config';
import { startIssuanceService } from '../server/issuance-service';
import { createLogger } from '../server/logger';

/**
 * One start-up of the real issuer service on a seeded database, in a process of its own (run by
 * bench/restore.ts): the wall time from the start call to ready, the restore phase inside it, and the
 * resident memory right after. Effects, timers and the transfer poller are held (`autoRun: false`), so
 * nothing runs the restored work while we measure; the outbox runner's own start-up step (releasing
 * leases a killed predecessor left) is run and counted. The result is written as JSON to RESTORE_BENCH_RESULT.
 */

async function main(): Promise<void> {
  const dataDir = process.env.RESTORE_BENCH_DIR;
  const resultFile = process.env.RESTORE_BENCH_RESULT;
  if (!dataDir || !resultFile) throw new Error('RESTORE_BENCH_DIR and RESTORE_BENCH_RESULT must be set');
  // Nothing listens on the discard port: with the runners held the service never calls out.
  const unreachable = 'http://127.0.0.1:9';
  const config: ServiceConfig = {
    mode: 'production',
    port: 0,
    host: '127.0.0.1',
    dataDir,
    logLevel: 'info',
    bodyLimitBytes: 64 * 1024,
    inbound: { apiKey: 'restore-bench-inbound-key', signatureKeys: new Map(), maxAgeSeconds: 300 },
    operatorToken: 'restore-bench-operator-token',
    chainNetwork: 'base',
    alpacaTimeoutMs: 5_000,
    mint: { journalTimeoutMs: 60 * 60 * 1000, callbackMaxAttempts: 30 },
    redemption: { pollIntervalMs: 5_000, deadlineMs: 24 * 60 * 60 * 1000, transferPollMs: 2_000, transferMaxRange: 2_000 },
    chain: { network: 'base', rpcUrl: unreachable, chainId: 8453, confirmations: 1, keystoreFile: path.join(dataDir, 'keystore.json'), keystorePasswordFile: path.join(dataDir, 'keystore-password') },
    alpaca: { baseUrl: unreachable, accountId: 'restore-bench-account', keyId: 'restore-bench', secret: 'restore-bench-secret', timeoutMs: 5_000 },
    reconciliation: { intervalMs: 0, toleranceShares: '0' },
  };
  const log = createLogger(process.env.RESTORE_BENCH_LOG_LEVEL ?? 'warn');

  // The restore phase is timed from outside the service code: the service calls host.restoreAll once.
  let restore: { startedAt: number; endedAt: number; summary: RestoreSummary } | undefined;
  const restoreAll = FlowHost.prototype.restoreAll;
  FlowHost.prototype.restoreAll = async function (this: FlowHost) {
    const startedAt = performance.now();
    const summary = await restoreAll.call(this);
    restore = { startedAt, endedAt: performance.now(), summary };
    return summary;
  };

  const startedAt = performance.now();
  const svc = await startIssuanceService(config, log, { autoRun: false });
  const listeningAt = performance.now();
  await svc.runner.start();
  await svc.runner.stop();
  const readyAt = performance.now();
  const memory = process.memoryUsage();
  if (!restore) throw new Error('the service started without restoring flows');

  fs.writeFileSync(
    resultFile,
    JSON.stringify({
      startupMs: readyAt - startedAt,
      restoreMs: restore.endedAt - restore.startedAt,
      beforeRestoreMs: restore.startedAt - startedAt,
      afterRestoreMs: readyAt - restore.endedAt,
      listeningToReadyMs: readyAt - listeningAt,
      processUptimeAtReadyMs: performance.now(),
      rssMB: memory.rss / 1e6,
      heapUsedMB: memory.heapUsed / 1e6,
      summary: restore.summary,
    }),
  );
  await svc.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
