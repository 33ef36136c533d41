import type { Knex } from 'knex';
import { type Database, isPostgres } from './database';
import { asTx, type Tx } from './transaction';

/** Why a transaction is sent: said by the effect that asks for it, stored with it (metrics, crash points). */
export type TransactionPurpose = 'mint' | 'burn' | 'return';

/** Where a signed transaction stands: signed | broadcast | confirmed | reverted. */
export type TransactionStatus = 'signed' | 'broadcast' | 'confirmed' | 'reverted';

/** One signed transaction, stored before it is ever broadcast. */
export interface RecordedTransaction {
  intentId: string;
  flowId: string;
  purpose: TransactionPurpose | null;
  chainId: number;
  from: string;
  nonce: number;
  txHash: string;
  rawTx: string;
  status: TransactionStatus;
  createdAt: string;
}

/** A status change for several transactions at once; `onlyFrom` changes only those still in that status. */
export interface StatusChange {
  intentIds: string[];
  status: TransactionStatus;
  blockNumber: number | null;
  onlyFrom: TransactionStatus | undefined;
}

/**
 * One turn of a signer: what it reads (transactions already recorded, the stored next nonce) and the
 * one commit that stores what it signed. On PostgreSQL the whole turn runs in one transaction under
 * the signer's nonce row lock, so several instances signing for one address take turns; SQLite has a
 * single writer, so the reads run before the commit without holding it.
 */
export interface SignerTurn {
  recorded(intentIds: string[]): Promise<RecordedTransaction[]>;
  /**
   * The intent's transaction if another instance signed it since the caller looked: only possible
   * where several instances sign for one address (PostgreSQL); SQLite's single writer needs no read.
   */
  signedMeanwhile(intentId: string): Promise<RecordedTransaction | undefined>;
  storedNextNonce(): Promise<number>;
  /** Stores the signed transactions, the writes that must commit with them, and the next nonce, together. */
  commit(signed: RecordedTransaction[], nextNonce: number, joined: Array<(tx: Tx) => Promise<void>>): Promise<void>;
}

/** `chain_transactions` and `chain_nonces`: the signer's transactions and its next nonce per chain. */
export class ChainTransactionStore {
  constructor(private readonly db: Database) {}

  async find(intentId: string): Promise<RecordedTransaction | undefined> {
    const row = await this.db('chain_transactions').where({ intent_id: intentId }).first();
    return row ? fromRow(row) : undefined;
  }

  /** Runs one signer turn for `address` on `chainId` (see SignerTurn). */
  inSignerTurn<T>(chainId: number, address: string, work: (turn: SignerTurn) => Promise<T>): Promise<T> {
    const key = { chain_id: chainId, address };
    if (!isPostgres(this.db)) return work(this.turn(this.db, key, false, (write) => this.db.transaction(write)));
    return this.db.transaction(async (trx) => {
      await trx('chain_nonces').insert({ ...key, next_nonce: 0 }).onConflict(['chain_id', 'address']).ignore();
      await trx('chain_nonces').where(key).forUpdate().first();
      return work(this.turn(trx, key, true, (write) => write(trx)));
    });
  }

  /** Applies status changes in one transaction (one update per change). */
  async changeStatuses(changes: StatusChange[], now: string): Promise<void> {
    await this.db.transaction(async (trx) => {
      for (const c of changes) {
        const query = trx('chain_transactions').whereIn('intent_id', c.intentIds);
        if (c.onlyFrom) query.andWhere({ status: c.onlyFrom });
        await query.update({ status: c.status, ...(c.blockNumber === null ? {} : { block_number: c.blockNumber }), updated_at: now });
      }
    });
  }

  private turn(
    reader: Knex | Knex.Transaction,
    key: { chain_id: number; address: string },
    shared: boolean,
    write: (work: (trx: Knex.Transaction) => Promise<void>) => Promise<void>,
  ): SignerTurn {
    const recorded = async (intentIds: string[]) => (await reader('chain_transactions').whereIn('intent_id', intentIds)).map(fromRow);
    return {
      recorded,
      signedMeanwhile: async (intentId) => (shared ? (await recorded([intentId]))[0] : undefined),
      storedNextNonce: async () => Number((await reader('chain_nonces').where(key).first())?.next_nonce ?? 0),
      commit: (signed, nextNonce, joined) =>
        write(async (trx) => {
          const rows = signed.map(toRow);
          // Chunks keep each insert well under SQLite's bound-variable limit.
          for (let i = 0; i < rows.length; i += 50) await trx('chain_transactions').insert(rows.slice(i, i + 50));
          for (const j of joined) await j(asTx(trx));
          await trx('chain_nonces').insert({ ...key, next_nonce: nextNonce }).onConflict(['chain_id', 'address']).merge();
        }),
    };
  }
}

function fromRow(row: any): RecordedTransaction {
  return {
    intentId: row.intent_id,
    flowId: row.flow_id,
    purpose: row.purpose ?? null,
    chainId: Number(row.chain_id),
    from: row.from_address,
    nonce: Number(row.nonce),
    txHash: row.tx_hash,
    rawTx: row.raw_tx,
    status: row.status,
    createdAt: row.created_at,
  };
}

function toRow(t: RecordedTransaction) {
  return {
    intent_id: t.intentId,
    flow_id: t.flowId,
    purpose: t.purpose,
    chain_id: t.chainId,
    from_address: t.from,
    nonce: t.nonce,
    tx_hash: t.txHash,
    raw_tx: t.rawTx,
    status: t.status,
    block_number: null,
    created_at: t.createdAt,
    updated_at: t.createdAt,
  };
}
