/**
 * The one loop every periodic worker runs on (outbox runner, timer scheduler, transfer poller, block
 * watcher, reconciliation schedule): a pass at a time, never two at once; `kick()` asks for a pass
 * now (one more after the current if it is running); a failing pass backs off exponentially up to a
 * cap and is reported; `stop()` waits for the pass under way.
 */
export interface PollLoopOptions {
  /** Pause between passes (and after the last failure's backoff). */
  intervalMs: number | (() => number);
  /** Longest pause after consecutive failures (default: 30 s, or the interval if longer). */
  maxBackoffMs?: number;
  /** Told of a failed pass and how many failed in a row; must not throw. */
  onError?: (error: unknown, failures: number) => void;
  /** The loop alone does not keep the process alive (a schedule, not work in hand). */
  unref?: boolean;
}

export class PollLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private current: Promise<void> | undefined;
  private again = false;
  private failures = 0;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly options: PollLoopOptions,
  ) {}

  get running(): boolean {
    return !this.stopped;
  }

  /** Starts the loop; the first pass runs after `firstInMs` (now by default). */
  start(firstInMs = 0): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(firstInMs);
  }

  /** A pass now rather than at the next interval. */
  kick(): void {
    if (this.stopped) return;
    if (this.current) this.again = true;
    else this.schedule(0);
  }

  /** Stops scheduling and waits for the pass under way, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /** Runs one pass (after the one under way), outside the schedule; its error reaches the caller. */
  async runOnce(): Promise<void> {
    while (this.current) await this.current;
    await this.pass();
  }

  private interval(): number {
    const i = this.options.intervalMs;
    return typeof i === 'function' ? i() : i;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.current = this.tick().finally(() => {
        this.current = undefined;
      });
    }, ms);
    if (this.options.unref) this.timer.unref();
  }

  private async tick(): Promise<void> {
    let delay = this.interval();
    try {
      await this.pass();
      this.failures = 0;
    } catch (err) {
      this.failures++;
      const cap = this.options.maxBackoffMs ?? Math.max(30_000, delay);
      delay = Math.min(cap, delay * 2 ** Math.min(this.failures, 16));
      try {
        this.options.onError?.(err, this.failures);
      } catch {
        // a reporter must not stop the loop
      }
    }
    const now = this.again;
    this.again = false;
    this.schedule(now ? 0 : delay);
  }
}
