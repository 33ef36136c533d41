import type { Knex } from 'knex';
import { TAGS } from '../machines/tags';
import { type Database, isPostgres } from './database';
import { tagPattern } from './flow-tags';
import { knexOf, type Tx } from './transaction';

/** Base units of one receipt a burn draws on. */
export interface ReceiptPart {
  receiptId: string;
  amountUnits: string;
}

/**
 * The receipts minted to the issuer (`receipt_inventory`, drawn down by the redemption view) and the
 * claims burns hold on them until recorded (`burn_allocations`).
 */
export class ReceiptStore {
  constructor(private readonly db: Database) {}

  /**
   * Chooses the receipts a burn of `amount` base units draws on, or undefined when the free inventory
   * does not back it. Both reads run in one consistent snapshot: a burn being recorded in between must
   * not be missed by one and seen by the other.
   */
  allocateForBurn(vault: string, amount: bigint): Promise<ReceiptPart[] | undefined> {
    // SQLite transactions are serializable already; PostgreSQL needs repeatable read for one snapshot.
    return this.db.transaction((trx) => allocate(trx, vault, amount), isPostgres(this.db) ? { isolationLevel: 'repeatable read' } : {});
  }

  /** The burn's claim, written with its signed transaction: after a crash the same receipts are used. */
  async recordAllocation(tx: Tx, intentId: string, vault: string, parts: ReceiptPart[]): Promise<void> {
    await knexOf(tx)('burn_allocations').insert(parts.map((c) => ({ intent_id: intentId, vault_address: vault, receipt_id: c.receiptId, amount_units: c.amountUnits })));
  }

  /** The receipts the burn of this intent claimed, by receipt id. */
  async allocationOf(intentId: string): Promise<ReceiptPart[]> {
    return (await this.db('burn_allocations').where({ intent_id: intentId }))
      .map((r: any) => ({ receiptId: String(r.receipt_id), amountUnits: String(r.amount_units) }))
      .sort((a, b) => (BigInt(a.receiptId) < BigInt(b.receiptId) ? -1 : 1));
  }
}

/**
 * Receipts are drawn oldest first (lowest receipt id), splitting across several when one is not
 * enough. A burn's claim counts until its flow has recorded the burn (that is when `receipt_inventory`
 * is drawn down), not merely until its transaction is mined: between the two, the shares are gone on
 * chain but not yet from the view. Only a reverted burn gives its claim back.
 */
async function allocate(trx: Knex.Transaction, vault: string, amount: bigint): Promise<ReceiptPart[] | undefined> {
  const rows = await trx('receipt_inventory').where({ vault_address: vault });
  const pending = await trx('burn_allocations as a')
    .join('chain_transactions as t', 't.intent_id', 'a.intent_id')
    .leftJoin('flows as f', 'f.flow_id', 't.flow_id')
    .where('a.vault_address', vault)
    .whereNot('t.status', 'reverted')
    .where((q) => q.whereNull('f.tags').orWhereNot('f.tags', 'like', tagPattern(TAGS.burnRecorded)))
    .select('a.receipt_id', 'a.amount_units');
  const claimed = new Map<string, bigint>();
  for (const p of pending) claimed.set(p.receipt_id, (claimed.get(p.receipt_id) ?? 0n) + BigInt(p.amount_units));
  const receipts = rows
    .map((r: any) => ({ receiptId: String(r.receipt_id), free: BigInt(r.shares_remaining) - (claimed.get(String(r.receipt_id)) ?? 0n) }))
    .filter((r) => r.free > 0n)
    .sort((a, b) => (BigInt(a.receiptId) < BigInt(b.receiptId) ? -1 : 1));
  const parts: ReceiptPart[] = [];
  let left = amount;
  for (const r of receipts) {
    if (left === 0n) break;
    const take = r.free < left ? r.free : left;
    parts.push({ receiptId: r.receiptId, amountUnits: take.toString() });
    left -= take;
  }
  return left === 0n ? parts : undefined;
}
