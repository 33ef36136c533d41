import { type JsonRpcProvider, toBeHex } from 'ethers';
import { PollLoop } from '../runtime/poll-loop';

/** One transaction someone is waiting on; `next` resolves when it may have moved, or at the deadline. */
export interface TransactionWatch {
  /** Wake also when the head reaches this block (more confirmations for a mined transaction). */
  minHead: number | undefined;
  next(deadline: number): Promise<void>;
  close(): void;
}

interface Waiter {
  hash: string;
  minHead: number | undefined;
  woken: boolean;
  resolve: (() => void) | undefined;
}

/**
 * One head poll per node for every transaction waiting on it, instead of a receipt and head poll per
 * transaction. It only says *when to look* (the hash appeared in a new block, the head reached the
 * depth asked for, or blocks went by it could not scan); the caller then reads the receipt and
 * decides, so correctness stays with the caller's own check.
 */
export class BlockWatcher {
  private readonly waiters = new Set<Waiter>();
  /** The last block whose transactions were looked at; undefined until the first poll. */
  private scanned: number | undefined;
  /** Runs only while someone waits. */
  private readonly loop: PollLoop;

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly pollMs = 100,
    /** More new blocks than this at once: wake everyone to check for themselves instead of scanning them. */
    private readonly maxScan = 16,
  ) {
    this.loop = new PollLoop(() => this.poll(), { intervalMs: pollMs });
  }

  /** Register before the caller's first check: any block after that check is then scanned for the hash. */
  watch(txHash: string): TransactionWatch {
    const waiter: Waiter = { hash: txHash.toLowerCase(), minHead: undefined, woken: false, resolve: undefined };
    this.waiters.add(waiter);
    this.ensurePolling();
    return {
      get minHead() {
        return waiter.minHead;
      },
      set minHead(block) {
        waiter.minHead = block;
      },
      next: (deadline) => {
        if (waiter.woken) {
          waiter.woken = false;
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
          function done() {
            clearTimeout(timer);
            waiter.resolve = undefined;
            waiter.woken = false;
            resolve();
          }
          waiter.resolve = done;
        });
      },
      close: () => {
        this.waiters.delete(waiter);
        waiter.resolve?.();
      },
    };
  }

  private wake(waiter: Waiter): void {
    waiter.woken = true;
    waiter.resolve?.();
  }

  private ensurePolling(): void {
    this.loop.start(this.pollMs);
  }

  private async poll(): Promise<void> {
    try {
      if (this.waiters.size > 0) await this.look();
    } catch {
      // Node unreachable or slow: the waiters' own deadlines hand them back to their retries.
    }
    if (this.waiters.size === 0) {
      // Nobody waits: stop, and forget the cursor, so the next waiter starts from a fresh head.
      this.scanned = undefined;
      void this.loop.stop();
    }
  }

  private async look(): Promise<void> {
    const head = await this.provider.getBlockNumber();
    if (this.scanned === undefined || head < this.scanned || head - this.scanned > this.maxScan) {
      // First look, a chain that went backwards, or too many blocks to scan: everyone checks for themselves.
      this.scanned = head;
      for (const w of this.waiters) this.wake(w);
      return;
    }
    for (let number = this.scanned + 1; number <= head; number++) {
      const block = (await this.provider.send('eth_getBlockByNumber', [toBeHex(number), false])) as { transactions?: string[] } | null;
      if (!block) return; // not served yet by this node: scan it at the next look
      const hashes = new Set((block.transactions ?? []).map((h) => h.toLowerCase()));
      for (const w of this.waiters) if (hashes.has(w.hash)) this.wake(w);
      this.scanned = number;
    }
    for (const w of this.waiters) if (w.minHead !== undefined && head >= w.minHead) this.wake(w);
  }
}
