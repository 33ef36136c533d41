import { knexOf } from '../persistence/transaction';
import type { Knex } from 'knex';
import type { Lease } from '../persistence/lease';
import { AbiCoder, ZeroAddress, getAddress, id, zeroPadValue } from 'ethers';
import type { Logger } from 'pino';
import { splitForAlpaca } from '../core/amounts';
import type { ChainConnection } from './chain-connection';
import { type Clock, iso } from '../core/clock';
import { failpoint } from '../core/failpoints';
import { safeErrorMessage } from '../core/safe-error';
import type { FlowHost } from '../runtime/flow-host';
import type { RedemptionInput } from '../machines/redemption';
import type { AccountRegistry } from '../persistence/registry/accounts';
import type { AssetRegistry, TokenizedAsset } from '../persistence/registry/assets';
import { redemptionOverDailyCap } from '../persistence/controls/redemption-cap';

export const TRANSFER_TOPIC = id('Transfer(address,address,uint256)');

export interface PollerSettings {
  /** Blocks a transfer must be buried under before it starts a redemption. */
  confirmations: number;
  /** Largest block range one eth_getLogs call covers. */
  maxRange: number;
  pollMs: number;
  /** Redemption timings handed to each new flow. */
  pollIntervalMs: number;
  alpacaDeadlineMs: number;
  /**
   * With several instances on one database only the holder of this lease polls; the others stand by
   * and take over when it stops renewing (after its ttl). Absent: this process always polls.
   */
  lease?: Lease;
}

export const redemptionFlowId = (network: string, txHash: string, logIndex: number, generation = 0) =>
  `redemption:${network}:${txHash}:${logIndex}${generation ? `:${generation}` : ''}`;

/**
 * Watches the share token of every enabled asset for transfers into the redemption wallet, over
 * [cursor + 1, head − confirmations] in bounded ranges. Each detected transfer starts a redemption
 * flow; the cursor and block hash move in the same transaction as the flow's first event. A stored
 * block hash that no longer matches the chain is a reorg: its transfers are reported to their flows.
 * RPC errors leave the cursor where it is (nothing is skipped) and back off.
 */
export class TransferPoller {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private running: Promise<void> | undefined;
  private failures = 0;
  /** The chain head last seen per vault, for the lag metric. */
  private readonly heads = new Map<string, { network: string; vault: string; head: number }>();

  constructor(
    private readonly db: Knex,
    private readonly host: FlowHost,
    private readonly chains: Map<string, ChainConnection>,
    private readonly assets: AssetRegistry,
    private readonly accounts: AccountRegistry,
    private readonly settings: PollerSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.ticking.catch(() => 0);
    // Hand the poller over now rather than after the lease expires.
    await this.settings.lease?.release().catch(() => undefined);
  }

  /** True while this instance holds the poller lease (always, without one). */
  leading = false;

  /** How far behind the head each watched vault is: the last head seen against the stored cursor. */
  async positions(): Promise<Array<{ network: string; vault: string; head: number; cursor: number }>> {
    const out = [];
    for (const h of this.heads.values()) {
      const row = await this.db('chain_cursor').where({ network: h.network, vault_address: h.vault }).first();
      if (row) out.push({ ...h, cursor: Number(row.last_block) });
    }
    return out;
  }

  private ticking: Promise<number> = Promise.resolve(0);

  /** One pass over every enabled asset (one at a time, however often it is called); returns how many flows it started. */
  tick(): Promise<number> {
    const next = this.ticking.catch(() => 0).then(() => this.pass());
    this.ticking = next;
    return next;
  }

  private async pass(): Promise<number> {
    let started = 0;
    const lease = this.settings.lease;
    if (lease) {
      const held = await lease.acquire();
      if (held !== this.leading) this.log.info({ holder: lease.holder, leading: held }, held ? 'transfer poller lease taken: this instance polls' : 'transfer poller lease lost: another instance polls');
      this.leading = held;
      if (!held) return 0;
    } else {
      this.leading = true;
    }
    for (const asset of await this.assets.list({ enabledOnly: true })) {
      const chain = this.chains.get(asset.network);
      if (!chain) continue;
      started += await this.pollAsset(asset, chain);
    }
    return started;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => {
          this.failures = 0;
        })
        .catch((err) => {
          this.failures++;
          this.log.warn({ error: safeErrorMessage(err), failures: this.failures }, 'transfer poll failed; will retry');
        })
        .finally(() => this.schedule(Math.min(30_000, this.settings.pollMs * 2 ** Math.min(this.failures, 6))));
    }, ms);
  }

  private async pollAsset(asset: TokenizedAsset, chain: ChainConnection): Promise<number> {
    const provider = chain.provider;
    const vault = asset.vaultAddress;
    const head = await provider.getBlockNumber();
    this.heads.set(`${asset.network}:${vault}`, { network: asset.network, vault, head });
    const safeHead = head - this.settings.confirmations;
    let cursor = await this.db('chain_cursor').where({ network: asset.network, vault_address: vault }).first();
    if (!cursor) {
      // First sight of this vault: start from the current safe head (README: where the poller starts).
      const start = Math.max(0, safeHead);
      const block = await provider.getBlock(start);
      await this.db('chain_cursor').insert({ network: asset.network, vault_address: vault, last_block: start, last_block_hash: block!.hash!, updated_at: iso(this.clock.now()) }).onConflict(['network', 'vault_address']).ignore();
      return 0;
    }
    cursor = await this.handleReorg(asset, chain, cursor);
    const from = Number(cursor.last_block) + 1;
    const to = Math.min(safeHead, from + this.settings.maxRange - 1);
    if (to < from) return 0;
    const logs = await provider.getLogs({ address: vault, topics: [TRANSFER_TOPIC, null, zeroPadValue(chain.issuer, 32)], fromBlock: from, toBlock: to });
    const toBlock = await provider.getBlock(to);
    if (!toBlock?.hash) throw new Error(`block ${to} not available`);
    const moveCursor = async (trx: Knex.Transaction) => {
      await trx('chain_cursor').where({ network: asset.network, vault_address: vault }).update({ last_block: to, last_block_hash: toBlock.hash!, updated_at: iso(this.clock.now()) });
      await trx('chain_blocks').insert({ network: asset.network, block_number: to, block_hash: toBlock.hash! }).onConflict(['network', 'block_number']).merge();
    };

    const transfers = logs
      .filter((l) => l.topics.length === 3 && l.topics[1] !== zeroPadValue(ZeroAddress, 32))
      .sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
    let started = 0;
    for (let i = 0; i < transfers.length; i++) {
      const log = transfers[i]!;
      const last = i === transfers.length - 1;
      const sender = getAddress('0x' + log.topics[1]!.slice(26)).toLowerCase();
      const amount = AbiCoder.defaultAbiCoder().decode(['uint256'], log.data)[0] as bigint;
      const seen = await this.db('detected_transfers').where({ network: asset.network, tx_hash: log.transactionHash, log_index: log.index }).first();
      if (seen && seen.status === 'live') {
        if (last) await this.db.transaction(moveCursor);
        continue; // duplicate log (a re-scan after a crash or an RPC that repeats itself)
      }
      const generation = seen ? Number(String(seen.flow_id).split(':')[4] ?? 0) + 1 : 0;
      // Mined again after a reorg removed it: the machine decides from where its earlier flow ended.
      const earlierFlowState = seen ? ((await this.host.get(seen.flow_id))?.state ?? null) : null;
      const flowId = redemptionFlowId(asset.network, log.transactionHash, log.index, generation);
      const ap = await this.accounts.findByWallet(asset.network, sender);
      const split = splitForAlpaca(amount, asset.decimals);
      const input: RedemptionInput = {
        network: asset.network,
        txHash: log.transactionHash,
        logIndex: log.index,
        blockNumber: log.blockNumber,
        sender,
        amountUnits: amount.toString(),
        assetId: asset.assetId,
        underlyingSymbol: asset.underlyingSymbol,
        tokenSymbol: asset.tokenSymbol,
        vaultAddress: vault,
        decimals: asset.decimals,
        apId: ap?.link ? ap.apId : null,
        clientRef: ap?.link ? { client_external_account_id: ap.apId } : null,
        assetHalted: asset.halted,
        overDailyCap: await redemptionOverDailyCap(this.db, this.clock, asset, split.qty),
        earlierFlowState,
        qty: split.qty,
        qtyUnits: split.qtyUnits.toString(),
        dustUnits: split.dustUnits.toString(),
        pollIntervalMs: this.settings.pollIntervalMs,
        alpacaDeadlineMs: this.settings.alpacaDeadlineMs,
      };
      await this.host.start('redemption', flowId, input, {
        correlationId: log.transactionHash,
        within: async (tx) => {
          const trx = knexOf(tx);
          const row = { network: asset.network, tx_hash: log.transactionHash, log_index: log.index, vault_address: vault, block_number: log.blockNumber, block_hash: log.blockHash, flow_id: flowId, status: 'live', detected_at: iso(this.clock.now()) };
          if (seen) await trx('detected_transfers').where({ network: asset.network, tx_hash: log.transactionHash, log_index: log.index }).update(row);
          else await trx('detected_transfers').insert(row);
          await trx('chain_blocks').insert({ network: asset.network, block_number: log.blockNumber, block_hash: log.blockHash }).onConflict(['network', 'block_number']).merge();
          if (last) await moveCursor(trx);
        },
      });
      await failpoint('poller.afterTransfer');
      started++;
      this.log.info({ flowId, sender, amount: amount.toString(), block: log.blockNumber }, 'redemption transfer detected');
    }
    if (transfers.length === 0) await this.db.transaction(moveCursor);
    // Keep a bounded window of block hashes for reorg checks.
    await this.db('chain_blocks').where({ network: asset.network }).andWhere('block_number', '<', to - 10_000).delete();
    return started;
  }

  /** Compares the cursor's block hash with the chain; on a mismatch, rewinds to the newest block still on the chain. */
  private async handleReorg(asset: TokenizedAsset, chain: ChainConnection, cursor: any): Promise<any> {
    const current = await chain.provider.getBlock(Number(cursor.last_block));
    if (current?.hash === cursor.last_block_hash) return cursor;
    const stored = await this.db('chain_blocks').where({ network: asset.network }).andWhere('block_number', '<', Number(cursor.last_block)).orderBy('block_number', 'desc').limit(500);
    let fork = -1;
    let forkHash = '';
    for (const b of stored) {
      const onChain = await chain.provider.getBlock(Number(b.block_number));
      if (onChain?.hash === b.block_hash) {
        fork = Number(b.block_number);
        forkHash = b.block_hash;
        break;
      }
    }
    if (fork < 0) {
      // Nothing we stored survives: rescan from well before the cursor (dedup keeps it safe).
      fork = Math.max(0, Number(cursor.last_block) - this.settings.maxRange);
      forkHash = (await chain.provider.getBlock(fork))!.hash!;
    }
    const orphaned = await this.db('detected_transfers').where({ network: asset.network, vault_address: asset.vaultAddress, status: 'live' }).andWhere('block_number', '>', fork);
    this.log.warn({ network: asset.network, from: Number(cursor.last_block), fork, orphaned: orphaned.length }, 'reorg detected; rewinding the transfer cursor');
    for (const t of orphaned) {
      // Re-mined on the new branch? Then it is the same transfer: keep its flow, follow it to its new block.
      const receipt = await chain.provider.getTransactionReceipt(t.tx_hash);
      if (receipt) {
        await this.db('detected_transfers').where({ network: t.network, tx_hash: t.tx_hash, log_index: t.log_index }).update({ block_number: receipt.blockNumber, block_hash: receipt.blockHash });
        continue;
      }
      await this.host
        .send(t.flow_id, { type: 'TRANSFER_ORPHANED', blockNumber: Number(t.block_number) }, {
          within: async (tx) => {
          const trx = knexOf(tx);
            await trx('detected_transfers').where({ network: t.network, tx_hash: t.tx_hash, log_index: t.log_index }).update({ status: 'orphaned' });
          },
        })
        .catch(async (err) => {
          // A final flow (completed) cannot take it; the reorg is recorded on the transfer row for the operator.
          this.log.error({ flowId: t.flow_id, error: safeErrorMessage(err) }, 'orphaned transfer belongs to a flow that cannot take it');
          await this.db('detected_transfers').where({ network: t.network, tx_hash: t.tx_hash, log_index: t.log_index }).update({ status: 'orphaned' });
        });
    }
    await this.db.transaction(async (trx) => {
      await trx('chain_blocks').where({ network: asset.network }).andWhere('block_number', '>', fork).delete();
      await trx('chain_cursor').where({ network: asset.network, vault_address: asset.vaultAddress }).update({ last_block: fork, last_block_hash: forkHash, updated_at: iso(this.clock.now()) });
    });
    return { ...cursor, last_block: fork, last_block_hash: forkHash };
  }
}
