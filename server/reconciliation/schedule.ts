import type { Logger } from 'pino';
import { describeFailure, type Reconciler } from './reconciler';

/**
 * Runs the reconciliation every `intervalMs` (the first run one interval after start, so a service
 * starting up does not call Alpaca and the node before it has restored its flows). A run that fails
 * outright is logged and the next one comes at its time; `stop()` waits for a run under way.
 */
export class ReconciliationSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.stopped) return;
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.reconciler
        .run()
        .then(
          (report) => this.log.info({ status: report.status, assets: report.assets.length, alerts: report.alerts.length }, 'reconciliation done'),
          (err) => this.log.error({ err: describeFailure(err) }, 'reconciliation failed'),
        )
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
