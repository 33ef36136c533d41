import type { Database } from './database';
import { type JournalEntry, toJournalEntry } from './journal';

/** Reads the journal by position, for the live stream that follows it. */
export class JournalReader {
  constructor(private readonly db: Database) {}

  /** The highest position committed so far (0 for an empty journal). */
  async head(): Promise<number> {
    return Number((await this.db('journal').max({ p: 'position' }).first())?.p ?? 0);
  }

  /** Positions present in (from, to]. */
  async positionsBetween(from: number, to: number): Promise<number[]> {
    const rows: any[] = await this.db('journal').select('position').where('position', '>', from).andWhere('position', '<=', to);
    return rows.map((r) => Number(r.position));
  }

  /** Up to `limit` entries after `position`, in position order. */
  async after(position: number, limit: number): Promise<JournalEntry[]> {
    const rows: any[] = await this.db('journal').where('position', '>', position).orderBy('position').limit(limit);
    return rows.map(toJournalEntry);
  }

  async atPositions(positions: number[]): Promise<JournalEntry[]> {
    const rows: any[] = await this.db('journal').whereIn('position', positions).orderBy('position');
    return rows.map(toJournalEntry);
  }

  /** A flow's entries up to and including `seq`. */
  async flowUpTo(flowId: string, seq: number): Promise<JournalEntry[]> {
    const rows: any[] = await this.db('journal').where({ flow_id: flowId }).andWhere('seq', '<=', seq).orderBy('seq');
    return rows.map(toJournalEntry);
  }
}
