import type { Knex } from 'knex';

/** Runs inside one database transaction; its writes commit or roll back as one. */
export type TransactionWork<T> = (trx: Knex.Transaction) => Promise<T>;

/** Rows per multi-row insert: well under SQLite's bound-parameter limit for our widest table. */
const INSERT_CHUNK = 400;

/** Appends that nothing in the batch reads back, gathered per batch transaction into multi-row inserts. */
const batchInserts = new WeakMap<Knex.Transaction, Map<string, Array<Record<string, unknown>>>>();

/**
 * Inserts a row that nothing later in the same transaction reads back (a journal row, an outbox row).
 * In a group-commit batch it is written with the batch's other rows of that table in one statement
 * just before the commit (a key violation then sends the batch back to run unit by unit, as any
 * failure does); anywhere else it is written at once.
 */
export async function insertAppendOnly(trx: Knex.Transaction, table: string, row: Record<string, unknown>): Promise<void> {
  const deferred = batchInserts.get(trx);
  if (!deferred) {
    await trx(table).insert(row);
    return;
  }
  const rows = deferred.get(table) ?? [];
  rows.push(row);
  deferred.set(table, rows);
}

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
  /** Batches sent back to run unit by unit (a unit failed, or the commit did). */
  fallbacks = 0;

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
        // The slot stays taken until the callers just answered have sent their next units (a flow's
        // next event, the next request's start): they join one batch rather than trail it one by one.
        setImmediate(() => {
          this.open--;
          this.pump();
        });
      });
    }
  }

  private async commit(batch: Waiting[]): Promise<void> {
    this.note(batch.length);
    if (batch.length === 1) return this.alone(batch[0]!);
    const values: unknown[] = [];
    try {
      await this.db.transaction(async (trx) => {
        const deferred = new Map<string, Array<Record<string, unknown>>>();
        batchInserts.set(trx, deferred);
        for (const unit of batch) values.push(await unit.work(trx));
        for (const [table, rows] of deferred) {
          for (let i = 0; i < rows.length; i += INSERT_CHUNK) await trx(table).insert(rows.slice(i, i + INSERT_CHUNK));
        }
      });
    } catch {
      this.fallbacks++;
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
