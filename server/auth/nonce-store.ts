/**
 * Replay protection for HTTP message signatures: remembers each (keyid, nonce) that passed
 * verification until the signature could no longer be accepted anyway (`expiresAtMs`).
 */
export interface NonceStore {
  /**
   * Atomically: if (keyid, nonce) was recorded and has not expired, return true (a replay);
   * otherwise record it until `expiresAtMs` (epoch milliseconds) and return false.
   * Must throw (not return true/false) when the store itself fails, so the request is answered
   * with a 5xx (Alpaca retries those) rather than a 401 (which Alpaca treats as final).
   */
  seen(keyid: string, nonce: string, expiresAtMs: number): Promise<boolean>;
}

/**
 * Process-local store. Good for a single instance and for tests; with several instances behind a
 * load balancer a replay could land on another instance, so use a shared (database) store there.
 */
export class InMemoryNonceStore implements NonceStore {
  private readonly byKey = new Map<string, Map<string, number>>();
  private readonly now: () => number;
  private readonly sweepIntervalMs: number;
  private nextSweepAt = 0;

  constructor(options: { now?: () => number; sweepIntervalMs?: number } = {}) {
    this.now = options.now ?? Date.now;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
  }

  async seen(keyid: string, nonce: string, expiresAtMs: number): Promise<boolean> {
    // No await before the check-and-set: it is atomic with respect to other callers.
    const now = this.now();
    if (now >= this.nextSweepAt) this.sweep(now);
    let nonces = this.byKey.get(keyid);
    const existing = nonces?.get(nonce);
    if (existing !== undefined && existing > now) return true;
    if (nonces === undefined) {
      nonces = new Map();
      this.byKey.set(keyid, nonces);
    }
    nonces.set(nonce, expiresAtMs);
    return false;
  }

  /** Number of live (unexpired) entries; for tests and metrics. */
  size(): number {
    this.sweep(this.now());
    let n = 0;
    for (const nonces of this.byKey.values()) n += nonces.size;
    return n;
  }

  private sweep(now: number): void {
    for (const [keyid, nonces] of this.byKey) {
      for (const [nonce, expiresAt] of nonces) if (expiresAt <= now) nonces.delete(nonce);
      if (nonces.size === 0) this.byKey.delete(keyid);
    }
    this.nextSweepAt = now + this.sweepIntervalMs;
  }
}
