import type { EffectAdapter, MachineEffectAdapters } from '../runtime/effect-adapter';
import { PermanentEffectError } from '../runtime/effect-adapter';
import type { AwaitMintParams, MintEvent, mintMachine, SubmitMintParams } from '../machines/mint';
import { type ChainConnection, type ChainEffectSettings, connectionFor, NotYetConfirmed, rethrowAsVaultRefusal } from './chain-connection';
import { encodeMint, encodeReceiptInformation, parseDeposits } from './vault';

/** The mint's chain effects: sign-store-broadcast the deposit, then wait for its confirmations. */
export function mintEffects(chains: Map<string, ChainConnection>, options: ChainEffectSettings): MachineEffectAdapters<typeof mintMachine, 'submitMintTransaction' | 'awaitMintConfirmations'> {
  const chainFor = (network: string) => connectionFor(chains, network);

  const submitMintTransaction: EffectAdapter<SubmitMintParams, MintEvent> = {
    sendsTransactions: true,
    retry: { baseMs: 500, capMs: 30_000, maxAttempts: options.submitAttempts },
    async run(p, ctx) {
      const chain = chainFor(p.network);
      const data = encodeMint({ vault: p.vaultAddress, issuer: chain.issuer, recipient: p.recipient, amount: BigInt(p.amountUnits), receiptInformation: encodeReceiptInformation(p.tokenizationRequestId) });
      const sent = await chain.transactions.send({ intentId: p.intentId, flowId: ctx.flowId, purpose: 'mint' }, { to: p.vaultAddress, data }).catch(rethrowAsVaultRefusal);
      return { type: 'MINT_TX_SENT', txHash: sent.txHash, nonce: sent.nonce };
    },
    failed: (error) =>
      error instanceof PermanentEffectError
        ? { type: 'MINT_REVERTED', code: error.code, message: error.message }
        : { type: 'MINT_SUBMISSION_FAILED', code: 'chain_unavailable', message: error.message },
  };

  const awaitMintConfirmations: EffectAdapter<AwaitMintParams, MintEvent> = {
    // Confirmation checks rebroadcast an unmined transaction: they wait out a pause too.
    sendsTransactions: true,
    retry: { baseMs: 250, capMs: 5_000, maxAttempts: options.confirmAttempts },
    async run(p) {
      const chain = chainFor(p.network);
      const result = await chain.transactions.waitForConfirmation(p.intentId, options.confirmWaitMs);
      if (result.status === 'pending') throw new NotYetConfirmed(`${p.txHash}: ${result.confirmations} confirmations so far`);
      if (result.status === 'reverted') return { type: 'MINT_REVERTED', txHash: p.txHash, code: 'reverted', message: `transaction ${p.txHash} reverted` };
      const deposit = parseDeposits(result.receipt, p.vaultAddress).find((d) => d.owner.toLowerCase() === chain.issuer);
      if (!deposit) throw new PermanentEffectError(`transaction ${p.txHash} has no Deposit to the issuer`, 'deposit_missing');
      return { type: 'MINT_CONFIRMED', txHash: p.txHash, receiptId: deposit.id.toString(), blockNumber: deposit.blockNumber };
    },
    failed: (error) =>
      error instanceof PermanentEffectError
        ? { type: 'MINT_REVERTED', code: error.code, message: error.message }
        : { type: 'MINT_SUBMISSION_FAILED', code: 'confirmation_timeout', message: error.message },
  };

  return { submitMintTransaction, awaitMintConfirmations };
}
