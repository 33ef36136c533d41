import { Interface } from 'ethers';
import type { EffectAdapter, MachineEffectAdapters } from '../runtime/effect-adapter';
import { PermanentEffectError } from '../runtime/effect-adapter';
import type { AwaitBurnParams, BurnParams, RedemptionEvent, redemptionMachine, ReturnTokensParams } from '../machines/redemption';
import { type ChainConnection, type ChainEffectSettings, connectionFor, NotYetConfirmed, rethrowAsVaultRefusal } from './chain-connection';
import { encodeBurn, encodeReceiptInformation } from './vault';
import type { Database } from '../persistence/database';
import { ReceiptStore } from '../persistence/receipt-store';

const erc20 = new Interface(['function transfer(address to, uint256 amount) returns (bool)']);

/** The redemption's chain effects: the burn (with its receipt allocation), its confirmations, and returning tokens. */
export function redemptionChainEffects(db: Database, chains: Map<string, ChainConnection>, options: ChainEffectSettings): MachineEffectAdapters<typeof redemptionMachine, 'submitBurn' | 'awaitBurnConfirmations' | 'returnTokensToSender'> {
  const chainFor = (network: string) => connectionFor(chains, network);
  const receipts = new ReceiptStore(db);

  const submitBurn: EffectAdapter<BurnParams, RedemptionEvent> = {
    sendsTransactions: true,
    retry: { baseMs: 500, capMs: 30_000, maxAttempts: options.submitAttempts },
    async run(p, ctx) {
      const chain = chainFor(p.network);
      const sent = await chain.transactions
        .send({ intentId: p.intentId, flowId: ctx.flowId, purpose: 'burn' }, async () => {
          // Chosen once, recorded with the signed transaction: after a crash the same receipts are used.
          const chosen = await receipts.allocateForBurn(p.vaultAddress, BigInt(p.amountUnits));
          if (!chosen) throw new PermanentEffectError(`receipt inventory does not back ${p.amountUnits} base units`, 'insufficient_inventory');
          return {
            to: p.vaultAddress,
            data: encodeBurn({ issuer: chain.issuer, parts: chosen.map((c) => ({ receiptId: BigInt(c.receiptId), amount: BigInt(c.amountUnits) })), info: encodeReceiptInformation(p.redemptionFlowTx) }),
            record: (tx) => receipts.recordAllocation(tx, p.intentId, p.vaultAddress, chosen),
          };
        })
        .catch(rethrowAsVaultRefusal);
      return { type: 'BURN_TX_SENT', txHash: sent.txHash, receipts: await receipts.allocationOf(p.intentId) };
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
      const sent = await chain.transactions.send({ intentId: p.intentId, flowId: ctx.flowId, purpose: 'return' }, call).catch(rethrowAsVaultRefusal);
      const result = await chain.transactions.waitForConfirmation(p.intentId, options.confirmWaitMs);
      if (result.status === 'pending') throw new NotYetConfirmed('return transfer not yet confirmed');
      if (result.status === 'reverted') throw new PermanentEffectError('return transfer reverted', 'reverted');
      return { type: 'TOKENS_RETURNED', txHash: sent.txHash };
    },
    failed: (error) => ({ type: 'RETURN_FAILED', code: error instanceof PermanentEffectError ? error.code : 'chain_unavailable', message: error.message }),
  };

  return { submitBurn, awaitBurnConfirmations, returnTokensToSender };
}
