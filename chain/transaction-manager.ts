import { type JsonRpcProvider, type TransactionReceipt, isError, keccak256 } from 'ethers';
import type { IssuerSigner } from './issuer-signer';
import type { Logger } from 'pino';
import { iso, type Clock } from '../core/clock';
import { failpoint } from '../core/failpoints';
import { isUniqueViolation } from '../persistence/errors';
import type { Database } from '../persistence/database';
import type { Tx } from '../persistence/transaction';
import { ChainTransactionStore, type RecordedTransaction, type SignerTurn, type StatusChange, type TransactionPurpose, type TransactionStatus } from '../persistence/chain-transaction-store';
import { DEFAULT_FEE_POLICY, type FeePolicy, feesFor } from './fee-policy';
import { BlockWatcher } from './block-watcher';

export interface PreparedCall {
  to: string;
  data: string;
  /** Writes that must commit with the signed transaction (a store method given the `Tx`). */
  record?: (tx: Tx) => Promise<void>;
}

/** A call with its gas limit and fees, ready to be given a nonce and signed. */
type PlannedCall = PreparedCall & { gasLimit: bigint; fees: Awaited<ReturnType<typeof feesFor>> };

export interface SentTransaction {
  intentId: string;
  txHash: string;
  nonce: number;
}

export type ConfirmationResult =
  | { status: 'confirmed'; receipt: TransactionReceipt; confirmations: number }
  | { status: 'reverted'; receipt: TransactionReceipt }
  | { status: 'pending'; confirmations: number; blockNumber?: number };

/** What an effect asks to be sent: its intent, its flow and the purpose stored with the transaction. */
export interface TransactionIntent {
  intentId: string;
  flowId: string;
  purpose: TransactionPurpose;
}

/** A planned call waiting for the signer's next turn. */
interface QueuedSigning extends TransactionIntent {
  call: PlannedCall;
  resolve: (row: RecordedTransaction) => void;
  reject: (err: unknown) => void;
}

interface StatusMark {
  intentId: string;
  status: TransactionStatus;
  blockNumber: number | null;
  onlyFrom: TransactionStatus | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** At most this many transactions are signed and recorded in one turn (one database transaction). */
const MAX_BATCH = 100;
/** A fee quote is reused this long: well under a block on the chains we serve. */
const FEE_QUOTE_MS = 1_000;
/** An unmined transaction this process broadcast is broadcast again only after this long. */
const REBROADCAST_MS = 3_000;

/** The node refused to even simulate the call: the vault would revert it (role, freeze, balance). */
export class TransactionWouldRevertError extends Error {
  constructor(readonly reason: unknown) {
    super('transaction would revert');
  }
}

/**
 * Sends the service's transactions from one signer. Each intent (a mint attempt, a burn) gets exactly
 * one signed transaction, stored with its nonce *before* it is broadcast; after a crash the same raw
 * bytes are broadcast again, so the chain can never see two transactions for one intent.
 */
export class TransactionManager {
  private queue: Promise<unknown> = Promise.resolve();
  /** Planned calls waiting for the signer's turn; the next turn takes them all together. */
  private waiting: QueuedSigning[] = [];
  private turnQueued = false;
  private feeQuote: { at: number; fees: Promise<Awaited<ReturnType<typeof feesFor>>> } | undefined;
  /** When this process last broadcast each unconfirmed transaction (hash → ms). */
  private readonly broadcastAt = new Map<string, number>();
  private readonly watcher: BlockWatcher;
  private readonly store: ChainTransactionStore;
  private marks: StatusMark[] = [];
  private marking: Promise<void> | undefined;
  private confirmedListener: ((tx: { kind: string; confirmations: number; secondsSinceSigned: number }) => void) | undefined;

  /** Told once per transaction, when it first reaches the configured confirmations (metrics). */
  onConfirmed(listener: (tx: { kind: string; confirmations: number; secondsSinceSigned: number }) => void): void {
    this.confirmedListener = listener;
  }

  constructor(
    db: Database,
    private readonly provider: JsonRpcProvider,
    private readonly signer: IssuerSigner,
    private readonly chainId: number,
    private readonly confirmations: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly fees: FeePolicy = DEFAULT_FEE_POLICY,
  ) {
    this.watcher = new BlockWatcher(provider);
    this.store = new ChainTransactionStore(db);
  }

  get address(): string {
    return this.signer.address.toLowerCase();
  }

  /**
   * Signs (once), records, and broadcasts the transaction for this intent; safe to call again after any
   * crash. `prepare` may be a function, run only when nothing is recorded yet and inside the signer's
   * queue, whose `record` writes commit with the signed transaction (a burn's receipt allocation).
   */
  async send(intent: TransactionIntent, prepare: PreparedCall | (() => Promise<PreparedCall>)): Promise<SentTransaction> {
    const { intentId } = intent;
    let row = await this.store.find(intentId);
    if (!row) {
      // A call known in advance (a mint) is estimated and priced before taking the signer's turn, so
      // the turn covers only the nonce, the signature and the insert; one that must be prepared in turn
      // (a burn choosing its receipts) is planned inside it.
      row =
        typeof prepare === 'function'
          ? await this.serialized(() => this.signAndRecord(intent, () => prepare().then((call) => this.plan(call))))
          : await this.signInTurn(intent, await this.plan(prepare));
    }
    await this.broadcast(row.rawTx, row.txHash);
    await failpoint(`txmanager.afterBroadcast.${row.purpose}`);
    if (row.status === 'signed') {
      await this.mark(intentId, 'broadcast', null, 'signed');
    }
    return { intentId, txHash: row.txHash, nonce: row.nonce };
  }

  /** Where the intent's transaction stands; rebroadcasts it while it is not mined (a node may have dropped it). */
  async confirmation(intentId: string): Promise<ConfirmationResult> {
    return this.check(await this.recorded(intentId));
  }

  /**
   * Waits until the transaction is settled or `timeoutMs` passes (then reports pending; the caller
   * retries later). Between checks it sleeps on the shared block watcher, which wakes it when its hash
   * shows up in a new block or the head reaches the depth it needs; each check reads the receipt itself.
   */
  async waitForConfirmation(intentId: string, timeoutMs: number): Promise<ConfirmationResult> {
    const deadline = Date.now() + timeoutMs;
    const row = await this.recorded(intentId);
    // Watch first, check second: a block mined after the check is then always scanned.
    const watch = this.watcher.watch(row.txHash);
    try {
      let result = await this.check(row);
      for (;;) {
        if (result.status !== 'pending' || Date.now() >= deadline) return result;
        // Mined but not deep enough: wake at the depth. Not mined: wake when it is, or to send it again.
        const mined = result.blockNumber !== undefined;
        watch.minHead = mined ? result.blockNumber! + this.confirmations - 1 : undefined;
        const rebroadcastAt = mined ? Infinity : (this.broadcastAt.get(row.txHash) ?? Date.now()) + REBROADCAST_MS;
        await watch.next(Math.min(deadline, rebroadcastAt));
        result = await this.check(row);
      }
    } finally {
      watch.close();
    }
  }

  private async recorded(intentId: string): Promise<RecordedTransaction> {
    const row = await this.store.find(intentId);
    if (!row) throw new Error(`no transaction recorded for ${intentId}`);
    return row;
  }

  private async check(row: RecordedTransaction): Promise<ConfirmationResult> {
    const { intentId } = row;
    const receipt = await this.provider.getTransactionReceipt(row.txHash);
    if (!receipt) {
      // Sent by this process a moment ago: the node has it. After a restart (no record here) or a
      // while without a block, send it again.
      const last = this.broadcastAt.get(row.txHash);
      if (last === undefined || Date.now() - last >= REBROADCAST_MS) await this.broadcast(row.rawTx, row.txHash);
      return { status: 'pending', confirmations: 0 };
    }
    const head = await this.provider.getBlockNumber();
    const confirmations = head - receipt.blockNumber + 1;
    if (receipt.status === 0) {
      this.broadcastAt.delete(row.txHash);
      await this.mark(intentId, 'reverted', receipt.blockNumber);
      return { status: 'reverted', receipt };
    }
    if (confirmations < this.confirmations) return { status: 'pending', confirmations, blockNumber: receipt.blockNumber };
    this.broadcastAt.delete(row.txHash);
    await this.mark(intentId, 'confirmed', receipt.blockNumber);
    if (row.status !== 'confirmed') {
      row.status = 'confirmed';
      const secondsSinceSigned = Math.max(0, (this.clock.now() - Date.parse(row.createdAt)) / 1000);
      this.confirmedListener?.({ kind: row.purpose ?? 'unknown', confirmations, secondsSinceSigned });
    }
    return { status: 'confirmed', receipt, confirmations };
  }

  /** Gas and fees for a call; a revert here is the vault's answer, anything else is retried. */
  private async plan(call: PreparedCall): Promise<PlannedCall> {
    let gasLimit: bigint;
    try {
      gasLimit = ((await this.provider.estimateGas({ from: this.address, to: call.to, data: call.data })) * 12n) / 10n;
    } catch (err) {
      // Only a revert is the vault's answer; a node that is down or slow is retried, never "reverted".
      if (isError(err, 'CALL_EXCEPTION')) throw new TransactionWouldRevertError(err);
      throw err;
    }
    return { ...call, gasLimit, fees: await this.currentFees() };
  }

  /** One fee quote (a `latest` block read) shared by the calls planned within `FEE_QUOTE_MS`. */
  private currentFees(): Promise<Awaited<ReturnType<typeof feesFor>>> {
    const now = Date.now();
    if (!this.feeQuote || now - this.feeQuote.at >= FEE_QUOTE_MS) {
      const fees = feesFor(this.provider, this.fees);
      const quote = { at: now, fees };
      this.feeQuote = quote;
      fees.catch(() => {
        if (this.feeQuote === quote) this.feeQuote = undefined;
      });
    }
    return this.feeQuote.fees;
  }

  /** Waits for the signer's next turn, which signs and records every call waiting by then together. */
  private signInTurn(intent: TransactionIntent, call: PlannedCall): Promise<RecordedTransaction> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ ...intent, call, resolve, reject });
      this.queueTurn();
    });
  }

  private queueTurn(): void {
    if (this.turnQueued) return;
    this.turnQueued = true;
    void this.serialized(async () => {
      this.turnQueued = false;
      const batch = this.waiting.splice(0, MAX_BATCH);
      if (this.waiting.length > 0) this.queueTurn();
      if (batch.length > 0) await this.signBatch(batch);
    });
  }

  /**
   * One signer turn for many calls: consecutive nonces, every signed transaction and the next nonce in
   * one database transaction (on PostgreSQL under the nonce row's lock). Nothing is broadcast before
   * that commit; if it fails, no nonce was used and every caller gets the error (its effect retries).
   */
  private async signBatch(batch: QueuedSigning[]): Promise<void> {
    try {
      const rows = await this.store.inSignerTurn(this.chainId, this.address, (turn) => this.storeBatch(turn, batch));
      for (const { row, fresh } of rows.values()) {
        if (fresh) this.log.info({ intentId: row.intentId, txHash: row.txHash, nonce: row.nonce }, 'transaction signed and recorded');
      }
      for (const { row, fresh } of rows.values()) if (fresh) await failpoint(`txmanager.afterPersist.${row.purpose}`);
      for (const q of batch) q.resolve(rows.get(q.intentId)!.row);
    } catch (err) {
      if (!isUniqueViolation(err)) {
        for (const q of batch) q.reject(err);
        return;
      }
      // Another instance recorded one of these intents meanwhile: take them one by one.
      for (const q of batch) await this.signAndRecord(q, q.call).then(q.resolve, q.reject);
    }
  }

  private async storeBatch(turn: SignerTurn, batch: QueuedSigning[]): Promise<Map<string, { row: RecordedTransaction; fresh: boolean }>> {
    const rows = new Map<string, { row: RecordedTransaction; fresh: boolean }>();
    const ids = [...new Set(batch.map((q) => q.intentId))];
    for (const existing of await turn.recorded(ids)) rows.set(existing.intentId, { row: existing, fresh: false });
    const toSign = batch.filter((q, i) => !rows.has(q.intentId) && batch.findIndex((o) => o.intentId === q.intentId) === i);
    if (toSign.length === 0) return rows;
    let nonce = await this.firstNonce(turn);
    const now = iso(this.clock.now());
    const fresh: RecordedTransaction[] = [];
    for (const q of toSign) {
      const { to, data, gasLimit, fees } = q.call;
      const raw = await this.signer.signTransaction({ type: 2, chainId: this.chainId, nonce, to, data, gasLimit, ...fees });
      fresh.push(this.signedRecord(q, nonce, raw, now));
      nonce++;
    }
    await turn.commit(
      fresh,
      nonce,
      toSign.flatMap((q) => (q.call.record ? [q.call.record] : [])),
    );
    for (const row of fresh) rows.set(row.intentId, { row, fresh: true });
    return rows;
  }

  /** A freshly signed transaction as it is stored. A signed transaction's hash is the keccak of its bytes: no need to parse them back. */
  private signedRecord(intent: TransactionIntent, nonce: number, raw: string, now: string): RecordedTransaction {
    return { intentId: intent.intentId, flowId: intent.flowId, purpose: intent.purpose, chainId: this.chainId, from: this.address, nonce, txHash: keccak256(raw), rawTx: raw, status: 'signed', createdAt: now };
  }

  /**
   * The next nonce: the recorded one, or the chain's count if it is ahead. The count is read at every
   * signer turn (one read covers the whole batch the turn signs), not cached for the process: an
   * operator who uses the issuer key by hand (a freeze in an emergency) moves it, and a nonce signed
   * below it could never be mined.
   */
  private async firstNonce(turn: SignerTurn): Promise<number> {
    const chainCount = await this.provider.getTransactionCount(this.address, 'pending');
    return Math.max(chainCount, await turn.storedNextNonce());
  }

  /**
   * Signs and records one intent in a turn of its own. Several instances may sign for this address:
   * the turn (the nonce row's lock on PostgreSQL) makes them take turns from choosing the nonce (and,
   * for a burn, the receipts) to storing the signed bytes.
   */
  private async signAndRecord(intent: TransactionIntent, prepare: PlannedCall | (() => Promise<PlannedCall>)): Promise<RecordedTransaction> {
    const existing = await this.store.find(intent.intentId);
    if (existing) return existing;
    const signed = await this.store.inSignerTurn(this.chainId, this.address, async (turn) => {
      const signedMeanwhile = await turn.signedMeanwhile(intent.intentId);
      if (signedMeanwhile) return { row: signedMeanwhile, fresh: false };
      return this.signAndStore(turn, intent, prepare);
    });
    if (signed.fresh) {
      this.log.info({ intentId: intent.intentId, txHash: signed.row.txHash, nonce: signed.row.nonce }, 'transaction signed and recorded');
      await failpoint(`txmanager.afterPersist.${intent.purpose}`);
    }
    return signed.row;
  }

  private async signAndStore(turn: SignerTurn, intent: TransactionIntent, prepare: PlannedCall | (() => Promise<PlannedCall>)): Promise<{ row: RecordedTransaction; fresh: boolean }> {
    const { to, data, record, gasLimit, fees } = typeof prepare === 'function' ? await prepare() : prepare;
    const nonce = await this.firstNonce(turn);
    const raw = await this.signer.signTransaction({ type: 2, chainId: this.chainId, nonce, to, data, gasLimit, ...fees });
    const row = this.signedRecord(intent, nonce, raw, iso(this.clock.now()));
    try {
      await turn.commit([row], nonce + 1, record ? [record] : []);
    } catch (err) {
      if (isUniqueViolation(err)) return { row: (await turn.recorded([intent.intentId]))[0]!, fresh: false };
      throw err;
    }
    return { row, fresh: true };
  }

  /** Broadcasts raw bytes; "already known" and "nonce too low" for our own mined hash are successes. */
  private async broadcast(raw: string, txHash: string): Promise<void> {
    try {
      // The raw call: ethers' broadcastTransaction would parse the bytes again and recover the sender.
      await this.provider.send('eth_sendRawTransaction', [raw]);
    } catch (err) {
      const known = await this.provider.getTransaction(txHash).catch(() => null);
      const mined = known ? null : await this.provider.getTransactionReceipt(txHash).catch(() => null);
      if (!known && !mined) {
        throw err;
      }
    }
    this.broadcastAt.set(txHash, Date.now());
  }

  /**
   * Records a transaction's status. Marks queued while a write is in flight go together in the next
   * one, so a burst of confirmations costs one commit, not one each. `onlyFrom`: change it only from
   * this status (a late "broadcast" never overwrites "confirmed").
   */
  private mark(intentId: string, status: TransactionStatus, blockNumber: number | null, onlyFrom?: TransactionStatus): Promise<void> {
    return new Promise((resolve, reject) => {
      this.marks.push({ intentId, status, blockNumber, onlyFrom, resolve, reject });
      this.marking ??= this.writeMarks();
    });
  }

  private async writeMarks(): Promise<void> {
    while (this.marks.length > 0) {
      const batch = this.marks.splice(0);
      const groups = new Map<string, StatusMark[]>();
      for (const m of batch) {
        const key = `${m.status}|${m.blockNumber}|${m.onlyFrom ?? ''}`;
        groups.set(key, [...(groups.get(key) ?? []), m]);
      }
      try {
        const changes: StatusChange[] = [...groups.values()].map((marks) => ({ intentIds: marks.map((m) => m.intentId), status: marks[0]!.status, blockNumber: marks[0]!.blockNumber, onlyFrom: marks[0]!.onlyFrom }));
        await this.store.changeStatuses(changes, iso(this.clock.now()));
        for (const m of batch) m.resolve();
      } catch (err) {
        for (const m of batch) m.reject(err);
      }
    }
    this.marking = undefined;
  }

  /** One signing at a time per signer, so nonces are handed out in order. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
