import type { Knex } from 'knex';
import { isUniqueViolation } from './errors';

/** Signature nonces in the database, so every instance behind a load balancer sees the same replays. */
/** Fits server/auth's NonceStore. */
export class KnexNonceStore {
  private lastSweep = 0;

  constructor(private readonly db: Knex, private readonly now: () => number = Date.now) {}

  async seen(keyid: string, nonce: string, expiresAtMs: number): Promise<boolean> {
    const now = this.now();
    if (now - this.lastSweep > 60_000) {
      this.lastSweep = now;
      await this.db('auth_nonces').where('expires_at', '<', now).delete();
    }
    try {
      await this.db('auth_nonces').insert({ keyid, nonce, expires_at: expiresAtMs });
      return false;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const row = await this.db('auth_nonces').where({ keyid, nonce }).first();
      if (row && Number(row.expires_at) < now) {
        await this.db('auth_nonces').where({ keyid, nonce }).update({ expires_at: expiresAtMs });
        return false;
      }
      return true;
    }
  }
}
