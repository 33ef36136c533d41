import type { Logger } from 'pino';
import { PollLoop } from '../../runtime/poll-loop';
import { describeFailure, type Reconciler } from './reconciler';

/**
 * Runs the reconciliation every `intervalMs` (the first run one interval after start, so a service
 * starting up does not call Alpaca and the node before it has restored its flows). A run that fails
 * outright is logged and the next one comes at its time; `stop()` waits for a run under way.
 */
export class ReconciliationSchedule {
  private readonly loop: PollLoop;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {
    // A failed run is no reason to wait longer: no backoff beyond the interval.
    this.loop = new PollLoop(() => this.run(), { intervalMs, maxBackoffMs: intervalMs, unref: true });
  }

  start(): void {
    if (this.intervalMs <= 0) return;
    this.loop.start(this.intervalMs);
  }

  private async run(): Promise<void> {
    try {
      const report = await this.reconciler.run();
      this.log.info({ status: report.status, assets: report.assets.length, alerts: report.alerts.length }, 'reconciliation done');
    } catch (err) {
      this.log.error({ err: describeFailure(err) }, 'reconciliation failed');
    }
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
