import type { Knex } from 'knex';
import { Interface } from 'ethers';
import type { EffectAdapter, MachineEffectAdapters } from '../runtime/effect-adapter';
import { PermanentEffectError } from '../runtime/effect-adapter';
import type { AwaitBurnParams, BurnParams, RedemptionEvent, redemptionMachine, ReturnTokensParams } from '../machines/redemption';
import { type ChainConnection, type ChainEffectSettings, connectionFor, NotYetConfirmed, rethrowAsVaultRefusal } from './chain-connection';
import { encodeBurn, encodeReceiptInformation } from './vault';

const erc20 = new Interface(['function transfer(address to, uint256 amount) returns (bool)']);

/**
 * Receipts are drawn oldest first (lowest receipt id), splitting across several when one is not
 * enough. A burn's claim counts until its flow has completed (that is when `receipt_inventory` is drawn
 * down), not merely until its transaction is mined: between the two, the shares are gone on chain but
 * not yet from the view. Only a reverted burn gives its claim back.
 */
export async function allocateReceipts(db: Knex | Knex.Transaction, vault: string, amount: bigint): Promise<Array<{ receiptId: string; amountUnits: string }> | undefined> {
  const rows = await db('receipt_inventory').where({ vault_address: vault });
  const pending = await db('burn_allocations as a')
    .join('chain_transactions as t', 't.intent_id', 'a.intent_id')
    .leftJoin('flows as f', 'f.flow_id', 't.flow_id')
    .where('a.vault_address', vault)
    .whereNot('t.status', 'reverted')
    .where((q) => q.whereNull('f.state').orWhereNot('f.state', 'completed'))
    .select('a.receipt_id', 'a.amount_units');
  const claimed = new Map<string, bigint>();
  for (const p of pending) claimed.set(p.receipt_id, (claimed.get(p.receipt_id) ?? 0n) + BigInt(p.amount_units));
  const receipts = rows
    .map((r: any) => ({ receiptId: String(r.receipt_id), free: BigInt(r.shares_remaining) - (claimed.get(String(r.receipt_id)) ?? 0n) }))
    .filter((r) => r.free > 0n)
    .sort((a, b) => (BigInt(a.receiptId) < BigInt(b.receiptId) ? -1 : 1));
  const parts: Array<{ receiptId: string; amountUnits: string }> = [];
  let left = amount;
  for (const r of receipts) {
    if (left === 0n) break;
    const take = r.free < left ? r.free : left;
    parts.push({ receiptId: r.receiptId, amountUnits: take.toString() });
    left -= take;
  }
  return left === 0n ? parts : undefined;
}

/** The redemption's chain effects: the burn (with its receipt allocation), its confirmations, and returning tokens. */
/** SQLite transactions are serializable already; PostgreSQL needs repeatable read for one snapshot. */
function snapshotIsolation(db: Knex): { isolationLevel?: 'repeatable read' } {
  return String(db.client.config.client).startsWith('pg') ? { isolationLevel: 'repeatable read' } : {};
}

export function redemptionChainEffects(db: Knex, chains: Map<string, ChainConnection>, options: ChainEffectSettings): MachineEffectAdapters<typeof redemptionMachine, 'submitBurn' | 'awaitBurnConfirmations' | 'returnTokensToSender'> {
  const chainFor = (network: string) => connectionFor(chains, network);

  const submitBurn: EffectAdapter<BurnParams, RedemptionEvent> = {
    sendsTransactions: true,
    retry: { baseMs: 500, capMs: 30_000, maxAttempts: options.submitAttempts },
    async run(p, ctx) {
      const chain = chainFor(p.network);
      const sent = await chain.transactions
        .send(p.intentId, ctx.flowId, async () => {
          // Chosen once, recorded with the signed transaction: after a crash the same receipts are used.
          // Both reads in one consistent snapshot: a burn completing in between must not be missed by one and seen by the other.
          const chosen = await db.transaction((trx) => allocateReceipts(trx, p.vaultAddress, BigInt(p.amountUnits)), snapshotIsolation(db));
          if (!chosen) throw new PermanentEffectError(`receipt inventory does not back ${p.amountUnits} base units`, 'insufficient_inventory');
          return {
            to: p.vaultAddress,
            data: encodeBurn({ issuer: chain.issuer, parts: chosen.map((c) => ({ receiptId: BigInt(c.receiptId), amount: BigInt(c.amountUnits) })), info: encodeReceiptInformation(p.redemptionFlowTx) }),
            record: async (trx) => {
              await trx('burn_allocations').insert(chosen.map((c) => ({ intent_id: p.intentId, vault_address: p.vaultAddress, receipt_id: c.receiptId, amount_units: c.amountUnits })));
            },
          };
        })
        .catch(rethrowAsVaultRefusal);
      const parts = (await db('burn_allocations').where({ intent_id: p.intentId }))
        .map((r: any) => ({ receiptId: String(r.receipt_id), amountUnits: String(r.amount_units) }))
        .sort((a, b) => (BigInt(a.receiptId) < BigInt(b.receiptId) ? -1 : 1));
      return { type: 'BURN_TX_SENT', txHash: sent.txHash, receipts: parts };
    },
    failed: (error) =>
      error instanceof PermanentEffectError
        ? error.code === 'insufficient_inventory'
          ? { type: 'INVENTORY_INSUFFICIENT', code: error.code, message: error.message }
          : { type: 'BURN_REVERTED', code: error.code, message: error.message }
        : { type: 'BURN_FAILED', code: 'chain_unavailable', message: error.message },
  };

  const awaitBurnConfirmations: EffectAdapter<AwaitBurnParams, RedemptionEvent> = {
    // Confirmation checks rebroadcast an unmined transaction: they wait out a pause too.
    sendsTransactions: true,
    retry: { baseMs: 250, capMs: 5_000, maxAttempts: options.confirmAttempts },
    async run(p) {
      const result = await chainFor(p.network).transactions.waitForConfirmation(p.intentId, options.confirmWaitMs);
      if (result.status === 'pending') throw new NotYetConfirmed(`${p.txHash}: ${result.confirmations} confirmations so far`);
      if (result.status === 'reverted') return { type: 'BURN_REVERTED', code: 'reverted', message: `transaction ${p.txHash} reverted` };
      return { type: 'BURN_CONFIRMED', txHash: p.txHash };
    },
    failed: (error) => ({ type: 'BURN_FAILED', code: 'confirmation_timeout', message: error.message }),
  };

  const returnTokensToSender: EffectAdapter<ReturnTokensParams, RedemptionEvent> = {
    sendsTransactions: true,
    retry: { baseMs: 500, capMs: 30_000, maxAttempts: options.submitAttempts },
    async run(p, ctx) {
      const chain = chainFor(p.network);
      const call = { to: p.vaultAddress, data: erc20.encodeFunctionData('transfer', [p.recipient, BigInt(p.amountUnits)]) };
      const sent = await chain.transactions.send(p.intentId, ctx.flowId, call).catch(rethrowAsVaultRefusal);
      const result = await chain.transactions.waitForConfirmation(p.intentId, options.confirmWaitMs);
      if (result.status === 'pending') throw new NotYetConfirmed('return transfer not yet confirmed');
      if (result.status === 'reverted') throw new PermanentEffectError('return transfer reverted', 'reverted');
      return { type: 'TOKENS_RETURNED', txHash: sent.txHash };
    },
    failed: (error) => ({ type: 'RETURN_FAILED', code: error instanceof PermanentEffectError ? error.code : 'chain_unavailable', message: error.message }),
  };

  return { submitBurn, awaitBurnConfirmations, returnTokensToSender };
}
