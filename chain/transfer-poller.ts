import { redemptionFlowId } from '../core/flow-ids';
import type { Lease } from '../persistence/lease';
import { AbiCoder, ZeroAddress, getAddress, id, zeroPadValue } from 'ethers';
import type { Logger } from 'pino';
import type { ChainConnection } from './chain-connection';
import { type Clock, iso } from '../core/clock';
import { failpoint } from '../core/failpoints';
import { safeErrorMessage } from '../core/safe-error';
import type { FlowHost } from '../runtime/flow-host';
import { PollLoop } from '../runtime/poll-loop';
import { admitTransfer, redemptionQty } from '../domain/admit-transfer';
import type { Database } from '../persistence/database';
import type { AccountRegistry } from '../persistence/registry/accounts';
import type { AssetRegistry, TokenizedAsset } from '../persistence/registry/assets';
import { redemptionOverDailyCap } from '../persistence/controls/redemption-cap';
import { type TransferCursor, TransferStore } from '../persistence/transfer-store';

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


/**
 * Watches the share token of every enabled asset for transfers into the redemption wallet, over
 * [cursor + 1, head − confirmations] in bounded ranges. Each detected transfer starts a redemption
 * flow; the cursor and block hash move in the same transaction as the flow's first event. A stored
 * block hash that no longer matches the chain is a reorg: its transfers are reported to their flows.
 * RPC errors leave the cursor where it is (nothing is skipped) and back off.
 */
export class TransferPoller {
  private readonly loop: PollLoop;
  private readonly transfers: TransferStore;
  /** The chain head last seen per vault, for the lag metric. */
  private readonly heads = new Map<string, { network: string; vault: string; head: number }>();

  constructor(
    private readonly db: Database,
    private readonly host: FlowHost,
    private readonly chains: Map<string, ChainConnection>,
    private readonly assets: AssetRegistry,
    private readonly accounts: AccountRegistry,
    private readonly settings: PollerSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.transfers = new TransferStore(db);
    const pollMs = settings.pollMs;
    this.loop = new PollLoop(() => this.tick(), {
      intervalMs: pollMs,
      // Doubling from the poll interval, at most 64 times it and never above 30 s.
      maxBackoffMs: Math.min(30_000, pollMs * 2 ** 6),
      onError: (err, failures) => this.log.warn({ error: safeErrorMessage(err), failures }, 'transfer poll failed; will retry'),
    });
  }

  start(): void {
    this.loop.start(0);
  }

  async stop(): Promise<void> {
    await this.loop.stop();
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
      const cursor = await this.transfers.cursor(h.network, h.vault);
      if (cursor) out.push({ ...h, cursor: cursor.lastBlock });
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

  private async pollAsset(asset: TokenizedAsset, chain: ChainConnection): Promise<number> {
    const provider = chain.provider;
    const vault = asset.vaultAddress;
    const head = await provider.getBlockNumber();
    this.heads.set(`${asset.network}:${vault}`, { network: asset.network, vault, head });
    const safeHead = head - this.settings.confirmations;
    let cursor = await this.transfers.cursor(asset.network, vault);
    if (!cursor) {
      // First sight of this vault: start from the current safe head (README: where the poller starts).
      const start = Math.max(0, safeHead);
      const block = await provider.getBlock(start);
      await this.transfers.placeCursor(asset.network, vault, { blockNumber: start, blockHash: block!.hash! }, iso(this.clock.now()));
      return 0;
    }
    cursor = await this.handleReorg(asset, chain, cursor);
    const from = cursor.lastBlock + 1;
    const to = Math.min(safeHead, from + this.settings.maxRange - 1);
    if (to < from) return 0;
    const logs = await provider.getLogs({ address: vault, topics: [TRANSFER_TOPIC, null, zeroPadValue(chain.issuer, 32)], fromBlock: from, toBlock: to });
    const toBlock = await provider.getBlock(to);
    if (!toBlock?.hash) throw new Error(`block ${to} not available`);
    const scanned = { blockNumber: to, blockHash: toBlock.hash };

    const transfers = logs
      .filter((l) => l.topics.length === 3 && l.topics[1] !== zeroPadValue(ZeroAddress, 32))
      .sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
    let started = 0;
    for (let i = 0; i < transfers.length; i++) {
      const log = transfers[i]!;
      const last = i === transfers.length - 1;
      const sender = getAddress('0x' + log.topics[1]!.slice(26)).toLowerCase();
      const amount = AbiCoder.defaultAbiCoder().decode(['uint256'], log.data)[0] as bigint;
      const key = { network: asset.network, txHash: log.transactionHash, logIndex: log.index };
      const seen = await this.transfers.detection(key);
      if (seen?.live) {
        if (last) await this.transfers.moveCursor(asset.network, vault, scanned, iso(this.clock.now()));
        continue; // duplicate log (a re-scan after a crash or an RPC that repeats itself)
      }
      const generation = seen ? seen.generation + 1 : 0;
      const flowId = redemptionFlowId(asset.network, log.transactionHash, log.index, generation);
      const input = admitTransfer(
        { ...key, blockNumber: log.blockNumber, sender, amountUnits: amount, asset },
        {
          ap: await this.accounts.findByWallet(asset.network, sender),
          overDailyCap: await redemptionOverDailyCap(this.db, this.clock, asset, redemptionQty(amount, asset)),
          // Mined again after a reorg removed it: the machine decides from where its earlier flow ended.
          earlierFlowState: seen ? ((await this.host.get(seen.flowId))?.state ?? null) : null,
          pollIntervalMs: this.settings.pollIntervalMs,
          alpacaDeadlineMs: this.settings.alpacaDeadlineMs,
        },
      );
      await this.host.start('redemption', flowId, input, {
        correlationId: log.transactionHash,
        within: (tx) =>
          this.transfers.recordDetection(
            tx,
            { ...key, vault, blockNumber: log.blockNumber, blockHash: log.blockHash, flowId, generation, again: seen !== undefined },
            iso(this.clock.now()),
            last ? { to: scanned } : undefined,
          ),
      });
      await failpoint('poller.afterTransfer');
      started++;
      this.log.info({ flowId, sender, amount: amount.toString(), block: log.blockNumber }, 'redemption transfer detected');
    }
    if (transfers.length === 0) await this.transfers.moveCursor(asset.network, vault, scanned, iso(this.clock.now()));
    await this.transfers.trimBlocks(asset.network, to);
    return started;
  }

  /** Compares the cursor's block hash with the chain; on a mismatch, rewinds to the newest block still on the chain. */
  private async handleReorg(asset: TokenizedAsset, chain: ChainConnection, cursor: TransferCursor): Promise<TransferCursor> {
    const current = await chain.provider.getBlock(cursor.lastBlock);
    if (current?.hash === cursor.lastBlockHash) return cursor;
    const stored = await this.transfers.blocksBefore(asset.network, cursor.lastBlock, 500);
    let fork = -1;
    let forkHash = '';
    for (const b of stored) {
      const onChain = await chain.provider.getBlock(b.blockNumber);
      if (onChain?.hash === b.blockHash) {
        fork = b.blockNumber;
        forkHash = b.blockHash;
        break;
      }
    }
    if (fork < 0) {
      // Nothing we stored survives: rescan from well before the cursor (dedup keeps it safe).
      fork = Math.max(0, cursor.lastBlock - this.settings.maxRange);
      forkHash = (await chain.provider.getBlock(fork))!.hash!;
    }
    const orphaned = await this.transfers.liveTransfersAfter(asset.network, asset.vaultAddress, fork);
    this.log.warn({ network: asset.network, from: cursor.lastBlock, fork, orphaned: orphaned.length }, 'reorg detected; rewinding the transfer cursor');
    for (const t of orphaned) {
      // Re-mined on the new branch? Then it is the same transfer: keep its flow, follow it to its new block.
      const receipt = await chain.provider.getTransactionReceipt(t.txHash);
      if (receipt) {
        await this.transfers.followTransfer(t, { blockNumber: receipt.blockNumber, blockHash: receipt.blockHash });
        continue;
      }
      await this.host
        .send(t.flowId, { type: 'TRANSFER_ORPHANED', blockNumber: t.blockNumber }, { within: (tx) => this.transfers.markOrphaned(t, tx) })
        .catch(async (err) => {
          // A final flow (completed) cannot take it; the reorg is recorded on the transfer row for the operator.
          this.log.error({ flowId: t.flowId, error: safeErrorMessage(err) }, 'orphaned transfer belongs to a flow that cannot take it');
          await this.transfers.markOrphaned(t);
        });
    }
    await this.transfers.rewind(asset.network, asset.vaultAddress, { blockNumber: fork, blockHash: forkHash }, iso(this.clock.now()));
    return { lastBlock: fork, lastBlockHash: forkHash };
  }
}
