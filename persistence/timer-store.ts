import { iso } from '../core/clock';
import { newId } from '../core/ids';
import { type Database, readJson } from './database';
import type { FlowEvent } from './flow-definition';
import { knexOf, type Tx } from './transaction';

/** A delayed event a flow set: raised on it once due, unless the flow cancels it first. */
export interface DueTimer {
  timerId: string;
  flowId: string;
  event: FlowEvent;
}

/** The `timers` table: one row per delayed event a flow has set and not yet had fired or cancelled. */
export class TimerStore {
  constructor(private readonly db: Database) {}

  /** Sets a timer in the event's commit; `sendId` names it within its flow, for a cancel or a replacement. */
  async set(tx: Tx, timer: { flowId: string; sendId: string; event: unknown; dueAt: number }, nowMs: number): Promise<void> {
    await knexOf(tx)('timers').insert({
      timer_id: newId(),
      flow_id: timer.flowId,
      send_id: timer.sendId,
      event: JSON.stringify(timer.event),
      due_at: timer.dueAt,
      created_at: iso(nowMs),
    });
  }

  /** Cancels the flow's timer of that name in the event's commit (before setting it anew, or for good). */
  async cancel(tx: Tx, flowId: string, sendId: string): Promise<void> {
    await knexOf(tx)('timers').where({ flow_id: flowId, send_id: sendId }).delete();
  }

  /** Timers due by `nowMs`, earliest first. */
  async due(nowMs: number, limit = 100): Promise<DueTimer[]> {
    const rows = await this.db('timers').where('due_at', '<=', nowMs).orderBy('due_at').limit(limit);
    return rows.map((r: any) => ({ timerId: r.timer_id, flowId: r.flow_id, event: readJson<FlowEvent>(r.event) }));
  }

  /** Deletes a fired timer in its event's transaction; false if it was gone (fired elsewhere, or cancelled). */
  async takeFired(tx: Tx, timerId: string): Promise<boolean> {
    const deleted = await knexOf(tx)('timers').where({ timer_id: timerId }).delete();
    return deleted === 1;
  }

  /** Drops a timer that no longer applies to its flow. */
  async drop(timerId: string): Promise<void> {
    await this.db('timers').where({ timer_id: timerId }).delete();
  }

  /** How many timers are set. */
  async count(): Promise<number> {
    const [row] = await this.db('timers').count({ n: '*' });
    return Number(row?.n ?? 0);
  }
}
