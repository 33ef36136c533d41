import type { Knex } from 'knex';
import type { Database } from './database';
import { knexOf, type Tx } from './transaction';

/** How far the transfer poller has scanned one vault, and the hash of that block (to notice a reorg). */
export interface TransferCursor {
  lastBlock: number;
  lastBlockHash: string;
}

/** A block the poller has scanned, by number and hash. */
export interface ScannedBlock {
  blockNumber: number;
  blockHash: string;
}

/** A transfer into the redemption wallet, as the poller found it on chain. */
export interface TransferKey {
  network: string;
  txHash: string;
  logIndex: number;
}

/** A detected transfer: the flow it started, and whether it is still on the chain (not orphaned by a reorg). */
export interface DetectedTransfer extends TransferKey {
  vault: string;
  blockNumber: number;
  flowId: string;
  live: boolean;
  /** How many times it was mined again after a reorg removed it (0 the first time). */
  generation: number;
}

/** How many scanned block hashes are kept behind the cursor for reorg checks. */
const BLOCK_WINDOW = 10_000;

const keyOf = (t: TransferKey) => ({ network: t.network, tx_hash: t.txHash, log_index: t.logIndex });

/**
 * The transfer poller's tables: `chain_cursor` (how far each vault is scanned), `chain_blocks` (the
 * hashes of scanned blocks, to find where a reorg forked) and `detected_transfers` (each transfer and
 * the redemption flow it started).
 */
export class TransferStore {
  constructor(private readonly db: Database) {}

  async cursor(network: string, vault: string): Promise<TransferCursor | undefined> {
    const row = await this.db('chain_cursor').where({ network, vault_address: vault }).first();
    return row ? { lastBlock: Number(row.last_block), lastBlockHash: row.last_block_hash } : undefined;
  }

  /** The first cursor of a vault; an instance that placed one meanwhile wins. */
  async placeCursor(network: string, vault: string, block: ScannedBlock, now: string): Promise<void> {
    await this.db('chain_cursor').insert({ network, vault_address: vault, last_block: block.blockNumber, last_block_hash: block.blockHash, updated_at: now }).onConflict(['network', 'vault_address']).ignore();
  }

  /** Moves the cursor to a scanned block (and keeps its hash), in a transaction of its own or within `tx`. */
  async moveCursor(network: string, vault: string, to: ScannedBlock, now: string, tx?: Tx): Promise<void> {
    const write = (trx: Knex.Transaction) => moveCursor(trx, network, vault, to, now);
    if (tx) await write(knexOf(tx));
    else await this.db.transaction(write);
  }

  async detection(key: TransferKey): Promise<DetectedTransfer | undefined> {
    const row = await this.db('detected_transfers').where(keyOf(key)).first();
    return row ? fromRow(row) : undefined;
  }

  /**
   * Records a transfer and the flow it started, within that flow's first event: its block's hash is
   * kept, and with the range's last transfer the cursor moves too. `again`: the transfer was seen
   * before (reorganised away and mined again), so its row is replaced.
   */
  async recordDetection(
    tx: Tx,
    detection: Omit<DetectedTransfer, 'live'> & { blockHash: string; again: boolean },
    now: string,
    cursor?: { to: ScannedBlock },
  ): Promise<void> {
    const trx = knexOf(tx);
    const row = {
      ...keyOf(detection),
      vault_address: detection.vault,
      block_number: detection.blockNumber,
      block_hash: detection.blockHash,
      flow_id: detection.flowId,
      generation: detection.generation,
      status: 'live',
      detected_at: now,
    };
    if (detection.again) await trx('detected_transfers').where(keyOf(detection)).update(row);
    else await trx('detected_transfers').insert(row);
    await trx('chain_blocks').insert({ network: detection.network, block_number: detection.blockNumber, block_hash: detection.blockHash }).onConflict(['network', 'block_number']).merge();
    if (cursor) await moveCursor(trx, detection.network, detection.vault, cursor.to, now);
  }

  /** Forgets block hashes far behind the scanned block: a reorg that deep is not looked for. */
  async trimBlocks(network: string, scannedTo: number): Promise<void> {
    await this.db('chain_blocks').where({ network }).andWhere('block_number', '<', scannedTo - BLOCK_WINDOW).delete();
  }

  /** The newest scanned blocks below `block` (newest first): where to look for the fork of a reorg. */
  async blocksBefore(network: string, block: number, limit: number): Promise<ScannedBlock[]> {
    const rows = await this.db('chain_blocks').where({ network }).andWhere('block_number', '<', block).orderBy('block_number', 'desc').limit(limit);
    return rows.map((b: any) => ({ blockNumber: Number(b.block_number), blockHash: b.block_hash }));
  }

  /** The vault's transfers still on the chain as far as we know, mined after `block`. */
  async liveTransfersAfter(network: string, vault: string, block: number): Promise<DetectedTransfer[]> {
    return (await this.db('detected_transfers').where({ network, vault_address: vault, status: 'live' }).andWhere('block_number', '>', block)).map(fromRow);
  }

  /** The transfer was mined again on the new branch: the same transfer, now in this block. */
  async followTransfer(key: TransferKey, block: ScannedBlock): Promise<void> {
    await this.db('detected_transfers').where(keyOf(key)).update({ block_number: block.blockNumber, block_hash: block.blockHash });
  }

  /** The transfer is gone from the chain; within `tx` when its flow is told in the same commit. */
  async markOrphaned(key: TransferKey, tx?: Tx): Promise<void> {
    await (tx ? knexOf(tx) : this.db)('detected_transfers').where(keyOf(key)).update({ status: 'orphaned' });
  }

  /** After a reorg: forgets the hashes above the fork and puts the cursor back on it. */
  async rewind(network: string, vault: string, fork: ScannedBlock, now: string): Promise<void> {
    await this.db.transaction(async (trx) => {
      await trx('chain_blocks').where({ network }).andWhere('block_number', '>', fork.blockNumber).delete();
      await trx('chain_cursor').where({ network, vault_address: vault }).update({ last_block: fork.blockNumber, last_block_hash: fork.blockHash, updated_at: now });
    });
  }
}

async function moveCursor(trx: Knex.Transaction, network: string, vault: string, to: ScannedBlock, now: string): Promise<void> {
  await trx('chain_cursor').where({ network, vault_address: vault }).update({ last_block: to.blockNumber, last_block_hash: to.blockHash, updated_at: now });
  await trx('chain_blocks').insert({ network, block_number: to.blockNumber, block_hash: to.blockHash }).onConflict(['network', 'block_number']).merge();
}

function fromRow(row: any): DetectedTransfer {
  return {
    network: row.network,
    txHash: row.tx_hash,
    logIndex: Number(row.log_index),
    vault: row.vault_address,
    blockNumber: Number(row.block_number),
    flowId: row.flow_id,
    live: row.status === 'live',
    generation: Number(row.generation ?? 0),
  };
}
