import { knexOf } from '../persistence/transaction';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { readJson } from '../persistence/database';
import type { Clock } from '../core/clock';
import { EventNotAcceptedError, FlowNotFoundError } from '../core/errors';
import type { FlowEvent } from '../persistence/flow-definition';
import type { FlowHost } from './flow-host';
import { loggableError } from '../core/safe-error';

class TimerGone extends Error {}

/** Fires due timer rows as events; the row is deleted in the event's own transaction. */
export class TimerScheduler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private firing: Promise<number> | undefined;

  constructor(
    private readonly db: Knex,
    private readonly host: FlowHost,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly pollMs = 500,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.firing;
  }

  kick(): void {
    if (!this.stopped) this.schedule(0);
  }

  /** Fires every timer due now; returns how many fired. */
  async fireDue(): Promise<number> {
    const rows = await this.db('timers').where('due_at', '<=', this.clock.now()).orderBy('due_at').limit(100);
    let fired = 0;
    for (const row of rows) {
      const event = readJson<FlowEvent>(row.event);
      try {
        await this.host.send(row.flow_id, event, {
          causationId: row.timer_id,
          within: async (tx) => {
          const trx = knexOf(tx);
            // Another instance fired it first (or the flow cancelled it): this event must not count twice.
            const deleted = await trx('timers').where({ timer_id: row.timer_id }).delete();
            if (deleted !== 1) throw new TimerGone();
          },
        });
        fired++;
      } catch (err) {
        if (err instanceof TimerGone) continue;
        if (err instanceof EventNotAcceptedError || err instanceof FlowNotFoundError) {
          // The state that set it was left without a cancel reaching us; the timer is moot.
          await this.db('timers').where({ timer_id: row.timer_id }).delete();
          this.log.warn({ flowId: row.flow_id, event: event.type }, 'timer no longer applies; dropped');
        } else {
          this.log.error({ error: loggableError(err), flowId: row.flow_id }, 'timer firing failed; will retry');
        }
      }
    }
    return fired;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      this.firing = this.fireDue().catch((err) => {
        this.log.error({ error: loggableError(err) }, 'timer poll failed');
        return 0;
      });
      await this.firing;
      this.schedule(this.pollMs);
    }, ms);
  }
}
