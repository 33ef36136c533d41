import type { Knex } from 'knex';
import { type Clock, iso } from '../core/clock';

/**
 * A named lease in the database: at most one holder at a time, taken over once it expires. The holder
 * renews it on every use; an instance that dies simply stops renewing, and another takes over after
 * `ttlMs`. A graceful stop releases it at once.
 */
export class Lease {
  constructor(
    private readonly db: Knex,
    readonly name: string,
    readonly holder: string,
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  /** Takes or renews the lease; true when this holder has it until now + ttl. */
  async acquire(): Promise<boolean> {
    const now = this.clock.now();
    const row = { holder: this.holder, expires_at: now + this.ttlMs, acquired_at: iso(now) };
    const renewed = await this.db('leases')
      .where({ name: this.name })
      .andWhere((q) => q.where({ holder: this.holder }).orWhere('expires_at', '<', now))
      .update(row);
    if (renewed === 1) return true;
    await this.db('leases').insert({ name: this.name, ...row }).onConflict('name').ignore();
    // Drivers report an ignored insert differently; read back who holds it.
    const current = await this.db('leases').where({ name: this.name }).first();
    return current?.holder === this.holder && Number(current.expires_at) > now;
  }

  /** Takes the lease whoever holds it: for a process that knows it is alone on its database (SQLite). */
  async takeOver(): Promise<void> {
    const now = this.clock.now();
    await this.db('leases').insert({ name: this.name, holder: this.holder, expires_at: now + this.ttlMs, acquired_at: iso(now) }).onConflict('name').merge();
  }

  async release(): Promise<void> {
    await this.db('leases').where({ name: this.name, holder: this.holder }).update({ expires_at: 0 });
  }

  /** Who holds the lease now, if anyone. */
  static async holder(db: Knex, name: string, now: number): Promise<string | undefined> {
    const row = await db('leases').where({ name }).first();
    return row && Number(row.expires_at) > now ? row.holder : undefined;
  }
}
