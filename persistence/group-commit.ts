import type { Knex } from 'knex';

/** Runs inside one database transaction; its writes commit or roll back as one. */
export type TransactionWork<T> = (trx: Knex.Transaction) => Promise<T>;

interface Waiting {
  work: TransactionWork<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  /** Most units in one transaction. */
  maxBatch?: number;
  /** Transactions open at once: 1 for SQLite (one writer); a few on PostgreSQL. */
  maxConcurrent?: number;
}

/**
 * Group commit: units of work that arrive while a commit is in progress are gathered and committed
 * together in the next transaction, so many concurrent flows share one commit (one WAL fsync) instead
 * of paying one each. Each caller is answered only after the transaction holding its unit has
 * committed. A unit that fails sends the whole batch back to run unit by unit, so it fails alone and
 * the others still commit. Nothing waits to fill a batch: a unit arriving at an idle database commits
 * at once, alone, as before. Units must be safe to run again (they read what they need inside).
 */
export class GroupCommit {
  private waiting: Waiting[] = [];
  private open = 0;
  private readonly maxBatch: number;
  private readonly maxConcurrent: number;
  private batchSizes: number[] = [];

  constructor(
    private readonly db: Knex,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 64;
    this.maxConcurrent = options.maxConcurrent ?? 1;
  }

  run<T>(work: TransactionWork<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ work, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Sizes of recent committed batches (the bench reports their spread), newest last. */
  recentBatchSizes(): number[] {
    return [...this.batchSizes];
  }

  private pump(): void {
    while (this.open < this.maxConcurrent && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.open++;
      void this.commit(batch).finally(() => {
        this.open--;
        this.pump();
      });
    }
  }

  private async commit(batch: Waiting[]): Promise<void> {
    this.note(batch.length);
    if (batch.length === 1) return this.alone(batch[0]!);
    const values: unknown[] = [];
    try {
      await this.db.transaction(async (trx) => {
        for (const unit of batch) values.push(await unit.work(trx));
      });
    } catch {
      // A unit failed (a refusal, a lost race) or the commit did: nothing of the batch committed, so
      // each unit runs again in a transaction of its own and gets its own answer. Failures are the
      // rare path; a savepoint per unit would cost two statements on every unit instead.
      await Promise.all(batch.map((unit) => this.alone(unit)));
      return;
    }
    batch.forEach((unit, i) => unit.resolve(values[i]));
  }

  private async alone(unit: Waiting): Promise<void> {
    try {
      unit.resolve(await this.db.transaction((trx) => unit.work(trx)));
    } catch (error) {
      unit.reject(error);
    }
  }

  private note(size: number): void {
    this.batchSizes.push(size);
    if (this.batchSizes.length > 1000) this.batchSizes = this.batchSizes.slice(-500);
  }
}
