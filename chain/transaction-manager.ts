import type { Knex } from 'knex';
import { type JsonRpcProvider, Transaction, type TransactionReceipt, isError } from 'ethers';
import type { IssuerSigner } from './issuer-signer';
import type { Logger } from 'pino';
import { iso, type Clock } from '../machines/host/clock';
import { failpoint } from '../machines/host/failpoints';
import { isUniqueViolation } from '../persistence/errors';
import { isPostgres } from '../persistence/database';
import { DEFAULT_FEE_POLICY, type FeePolicy, feesFor } from './fee-policy';

export interface PreparedCall {
  to: string;
  data: string;
  /** Writes that must commit with the signed transaction. */
  record?: (trx: Knex.Transaction) => Promise<void>;
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
  | { status: 'pending'; confirmations: number };

/** `mint`, `burn`, `return`: the first part of an intent id, so a crash point can target one kind. */
const intentKind = (intentId: string) => intentId.split(':')[0];

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
  private confirmedListener: ((tx: { kind: string; confirmations: number; secondsSinceSigned: number }) => void) | undefined;

  /** Told once per transaction, when it first reaches the configured confirmations (metrics). */
  onConfirmed(listener: (tx: { kind: string; confirmations: number; secondsSinceSigned: number }) => void): void {
    this.confirmedListener = listener;
  }

  constructor(
    private readonly db: Knex,
    private readonly provider: JsonRpcProvider,
    private readonly signer: IssuerSigner,
    private readonly chainId: number,
    private readonly confirmations: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly fees: FeePolicy = DEFAULT_FEE_POLICY,
  ) {}

  get address(): string {
    return this.signer.address.toLowerCase();
  }

  /**
   * Signs (once), records, and broadcasts the transaction for this intent; safe to call again after any
   * crash. `prepare` may be a function, run only when nothing is recorded yet and inside the signer's
   * queue, whose `record` writes commit with the signed transaction (a burn's receipt allocation).
   */
  async send(intentId: string, flowId: string, prepare: PreparedCall | (() => Promise<PreparedCall>)): Promise<SentTransaction> {
    let row = await this.db('chain_transactions').where({ intent_id: intentId }).first();
    if (!row) {
      // A call known in advance (a mint) is estimated and priced before taking the signer's turn, so
      // the turn covers only the nonce, the signature and the insert; one that must be prepared in turn
      // (a burn choosing its receipts) is planned inside it.
      const planned = typeof prepare === 'function' ? () => prepare().then((call) => this.plan(call)) : await this.plan(prepare);
      row = await this.serialized(() => this.signAndRecord(intentId, flowId, planned));
    }
    await this.broadcast(row.raw_tx, row.tx_hash);
    await failpoint(`txmanager.afterBroadcast.${intentKind(intentId)}`);
    if (row.status === 'signed') {
      await this.db('chain_transactions').where({ intent_id: intentId, status: 'signed' }).update({ status: 'broadcast', updated_at: iso(this.clock.now()) });
    }
    return { intentId, txHash: row.tx_hash, nonce: Number(row.nonce) };
  }

  /** Where the intent's transaction stands; rebroadcasts it while it is not mined (a node may have dropped it). */
  async confirmation(intentId: string): Promise<ConfirmationResult> {
    const row = await this.db('chain_transactions').where({ intent_id: intentId }).first();
    if (!row) throw new Error(`no transaction recorded for ${intentId}`);
    const receipt = await this.provider.getTransactionReceipt(row.tx_hash);
    if (!receipt) {
      await this.broadcast(row.raw_tx, row.tx_hash);
      return { status: 'pending', confirmations: 0 };
    }
    const head = await this.provider.getBlockNumber();
    const confirmations = head - receipt.blockNumber + 1;
    if (receipt.status === 0) {
      await this.mark(intentId, 'reverted', receipt.blockNumber);
      return { status: 'reverted', receipt };
    }
    if (confirmations < this.confirmations) return { status: 'pending', confirmations };
    await this.mark(intentId, 'confirmed', receipt.blockNumber);
    if (row.status !== 'confirmed') {
      const secondsSinceSigned = Math.max(0, (this.clock.now() - Date.parse(row.created_at)) / 1000);
      this.confirmedListener?.({ kind: intentKind(intentId) ?? 'unknown', confirmations, secondsSinceSigned });
    }
    return { status: 'confirmed', receipt, confirmations };
  }

  /** Polls `confirmation` until settled or `timeoutMs` passes (then reports pending; the caller retries later). */
  async waitForConfirmation(intentId: string, timeoutMs: number, pollMs = 250): Promise<ConfirmationResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = await this.confirmation(intentId);
      if (result.status !== 'pending' || Date.now() >= deadline) return result;
      await new Promise((r) => setTimeout(r, pollMs));
    }
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
    return { ...call, gasLimit, fees: await feesFor(this.provider, this.fees) };
  }

  private async signAndRecord(intentId: string, flowId: string, prepare: PlannedCall | (() => Promise<PlannedCall>)): Promise<any> {
    const existing = await this.db('chain_transactions').where({ intent_id: intentId }).first();
    if (existing) return existing;
    const signed = !isPostgres(this.db)
      ? await this.signAndStore(this.db, (work) => this.db.transaction(work), intentId, flowId, prepare)
      : // Several instances may sign for this address. The nonce row's lock makes them take turns from
        // choosing the nonce (and, for a burn, the receipts) to storing the signed bytes.
        await this.db.transaction(async (trx) => {
          await trx('chain_nonces').insert({ chain_id: this.chainId, address: this.address, next_nonce: 0 }).onConflict(['chain_id', 'address']).ignore();
          await trx('chain_nonces').where({ chain_id: this.chainId, address: this.address }).forUpdate().first();
          const signedMeanwhile = await trx('chain_transactions').where({ intent_id: intentId }).first();
          if (signedMeanwhile) return { row: signedMeanwhile, fresh: false };
          return this.signAndStore(trx, (work) => work(trx), intentId, flowId, prepare);
        });
    if (signed.fresh) {
      this.log.info({ intentId, txHash: signed.row.tx_hash, nonce: signed.row.nonce }, 'transaction signed and recorded');
      await failpoint(`txmanager.afterPersist.${intentKind(intentId)}`);
    }
    return signed.row;
  }

  private async signAndStore(
    reader: Knex | Knex.Transaction,
    commit: (work: (trx: Knex.Transaction) => Promise<void>) => Promise<void>,
    intentId: string,
    flowId: string,
    prepare: PlannedCall | (() => Promise<PlannedCall>),
  ): Promise<{ row: any; fresh: boolean }> {
    const { to, data, record, gasLimit, fees } = typeof prepare === 'function' ? await prepare() : prepare;
    const call = { to, data };
    const from = this.address;
    const chainNonce = await this.provider.getTransactionCount(from, 'pending');
    const stored = await reader('chain_nonces').where({ chain_id: this.chainId, address: from }).first();
    const nonce = Math.max(chainNonce, Number(stored?.next_nonce ?? 0));
    const raw = await this.signer.signTransaction({ type: 2, chainId: this.chainId, nonce, to: call.to, data: call.data, gasLimit, ...fees });
    const txHash = Transaction.from(raw).hash!;
    const now = iso(this.clock.now());
    const row = { intent_id: intentId, flow_id: flowId, chain_id: this.chainId, from_address: from, nonce, tx_hash: txHash, raw_tx: raw, status: 'signed', block_number: null, created_at: now, updated_at: now };
    try {
      await commit(async (trx) => {
        await trx('chain_transactions').insert(row);
        await record?.(trx);
        await trx('chain_nonces').insert({ chain_id: this.chainId, address: from, next_nonce: nonce + 1 }).onConflict(['chain_id', 'address']).merge();
      });
    } catch (err) {
      if (isUniqueViolation(err)) return { row: await reader('chain_transactions').where({ intent_id: intentId }).first(), fresh: false };
      throw err;
    }
    return { row, fresh: true };
  }

  /** Broadcasts raw bytes; "already known" and "nonce too low" for our own mined hash are successes. */
  private async broadcast(raw: string, txHash: string): Promise<void> {
    try {
      await this.provider.broadcastTransaction(raw);
    } catch (err) {
      const known = await this.provider.getTransaction(txHash).catch(() => null);
      if (known) return;
      const receipt = await this.provider.getTransactionReceipt(txHash).catch(() => null);
      if (receipt) return;
      throw err;
    }
  }

  private async mark(intentId: string, status: string, blockNumber: number): Promise<void> {
    await this.db('chain_transactions').where({ intent_id: intentId }).update({ status, block_number: blockNumber, updated_at: iso(this.clock.now()) });
  }

  /** One signing at a time per signer, so nonces are handed out in order. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
