import type { Database } from './database';

/** What the Prometheus gauges read at scrape time: counts over the flow, outbox, timer and chain tables. */
export class MetricsStore {
  constructor(private readonly db: Database) {}

  async flowsByState(): Promise<Array<{ flowType: string; state: string; needsOperator: boolean; n: number }>> {
    const rows: any[] = await this.db('flows').select('flow_type', 'state', 'needs_operator').count({ n: '*' }).groupBy('flow_type', 'state', 'needs_operator');
    return rows.map((r) => ({ flowType: r.flow_type, state: r.state, needsOperator: Boolean(r.needs_operator), n: Number(r.n) }));
  }

  /** Active flows with no event since `before`, by type and state. */
  async stuckFlows(before: string): Promise<Array<{ flowType: string; state: string; n: number }>> {
    const rows: any[] = await this.db('flows').where({ status: 'active' }).andWhere('updated_at', '<', before).select('flow_type', 'state').count({ n: '*' }).groupBy('flow_type', 'state');
    return rows.map((r) => ({ flowType: r.flow_type, state: r.state, n: Number(r.n) }));
  }

  async flowsNeedingOperator(): Promise<Array<{ flowType: string; n: number }>> {
    const rows: any[] = await this.db('flows').where({ needs_operator: true }).whereNot({ status: 'done' }).select('flow_type').count({ n: '*' }).groupBy('flow_type');
    return rows.map((r) => ({ flowType: r.flow_type, n: Number(r.n) }));
  }

  /** Pending and failed effects by type and status. */
  async outboxDepth(): Promise<Array<{ type: string; status: string; n: number }>> {
    const rows: any[] = await this.db('outbox').whereIn('status', ['pending', 'failed']).select('type', 'status').count({ n: '*' }).groupBy('type', 'status');
    return rows.map((r) => ({ type: r.type, status: r.status, n: Number(r.n) }));
  }

  async pendingTimers(): Promise<number> {
    const [row] = await this.db('timers').count({ n: '*' });
    return Number(row?.n ?? 0);
  }

  /** When the most overdue timer was due (undefined when none is due at `now`). */
  async oldestDueTimer(now: number): Promise<number | undefined> {
    const [row] = await this.db('timers').where('due_at', '<=', now).min({ due: 'due_at' });
    return row?.due === null || row?.due === undefined ? undefined : Number(row.due);
  }

  /** The last block each vault's transfer poller has processed. */
  async transferCursors(): Promise<Array<{ network: string; vaultAddress: string; lastBlock: number }>> {
    const rows: any[] = await this.db('chain_cursor');
    return rows.map((r) => ({ network: r.network, vaultAddress: r.vault_address, lastBlock: Number(r.last_block) }));
  }

  async chainTransactionsByStatus(): Promise<Array<{ status: string; n: number }>> {
    const rows: any[] = await this.db('chain_transactions').select('status').count({ n: '*' }).groupBy('status');
    return rows.map((r) => ({ status: r.status, n: Number(r.n) }));
  }
}
