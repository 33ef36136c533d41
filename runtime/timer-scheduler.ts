import type { Logger } from 'pino';
import type { Database } from '../persistence/database';
import { TimerStore } from '../persistence/timer-store';
import type { Clock } from '../core/clock';
import { EventNotAcceptedError, FlowNotFoundError } from '../core/errors';
import type { FlowHost } from './flow-host';
import { loggableError } from '../core/safe-error';
import { PollLoop } from './poll-loop';

class TimerGone extends Error {}

/** Fires due timer rows as events; the row is deleted in the event's own transaction. */
export class TimerScheduler {
  private readonly timers: TimerStore;
  private readonly loop: PollLoop;

  constructor(
    db: Database,
    private readonly host: FlowHost,
    private readonly clock: Clock,
    private readonly log: Logger,
    pollMs = 500,
  ) {
    this.timers = new TimerStore(db);
    this.loop = new PollLoop(() => this.fireDue(), {
      intervalMs: pollMs,
      // A failed look at the timers is retried at the next poll: a due timer must not wait longer.
      maxBackoffMs: pollMs,
      onError: (err) => this.log.error({ error: loggableError(err) }, 'timer poll failed'),
    });
  }

  start(): void {
    this.loop.start(0);
  }

  /** Stops polling and waits for the firing under way. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** A timer is due now: look at the timers rather than at the next poll. */
  kick(): void {
    this.loop.kick();
  }

  /** Fires every timer due now; returns how many fired. */
  async fireDue(): Promise<number> {
    const due = await this.timers.due(this.clock.now());
    let fired = 0;
    for (const timer of due) {
      try {
        await this.host.send(timer.flowId, timer.event, {
          causationId: timer.timerId,
          within: async (tx) => {
            // Another instance fired it first (or the flow cancelled it): this event must not count twice.
            if (!(await this.timers.takeFired(tx, timer.timerId))) throw new TimerGone();
          },
        });
        fired++;
      } catch (err) {
        if (err instanceof TimerGone) continue;
        if (err instanceof EventNotAcceptedError || err instanceof FlowNotFoundError) {
          // The state that set it was left without a cancel reaching us; the timer is moot.
          await this.timers.drop(timer.timerId);
          this.log.warn({ flowId: timer.flowId, event: timer.event.type }, 'timer no longer applies; dropped');
        } else {
          this.log.error({ error: loggableError(err), flowId: timer.flowId }, 'timer firing failed; will retry');
        }
      }
    }
    return fired;
  }
}
