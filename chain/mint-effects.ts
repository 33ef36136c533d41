import type { JsonRpcProvider } from 'ethers';
import type { EffectAdapter } from '../machines/host/effect-adapter';
import { PermanentEffectError } from '../machines/host/effect-adapter';
import type { AwaitMintParams, SubmitMintParams } from '../machines/mint';
import { TransactionWouldRevertError, type TransactionManager } from './transaction-manager';
import { decodeVaultError, encodeMint, encodeReceiptInformation, parseDeposits } from './vault';

export interface ChainConnection {
  network: string;
  chainId: number;
  provider: JsonRpcProvider;
  transactions: TransactionManager;
  /** The issuer's address: it receives the receipts and signs every transaction. */
  issuer: string;
}

/** Still waiting for confirmations: the outbox runner retries it, which is the polling loop. */
class NotYetConfirmed extends Error {}

export function mintEffects(chains: Map<string, ChainConnection>, options: { confirmWaitMs: number; confirmAttempts: number; submitAttempts: number }) {
  const chainFor = (network: string) => {
    const chain = chains.get(network);
    if (!chain) throw new PermanentEffectError(`no chain connection configured for network ${network}`, 'network_not_configured');
    return chain;
  };

  const submitMintTransaction: EffectAdapter<SubmitMintParams> = {
    retry: { baseMs: 500, capMs: 30_000, maxAttempts: options.submitAttempts },
    async run(p, ctx) {
      const chain = chainFor(p.network);
      const data = encodeMint({ vault: p.vaultAddress, issuer: chain.issuer, recipient: p.recipient, amount: BigInt(p.amountUnits), receiptInformation: encodeReceiptInformation(p.tokenizationRequestId) });
      try {
        const sent = await chain.transactions.send(p.intentId, ctx.flowId, { to: p.vaultAddress, data });
        return { type: 'MINT_TX_SENT', txHash: sent.txHash, nonce: sent.nonce };
      } catch (err) {
        if (err instanceof TransactionWouldRevertError) {
          const decoded = decodeVaultError(err.reason);
          throw new PermanentEffectError(decoded.message, decoded.code);
        }
        throw err;
      }
    },
    failed: (error) =>
      error instanceof PermanentEffectError
        ? { type: 'MINT_REVERTED', code: error.code, message: error.message }
        : { type: 'MINT_SUBMISSION_FAILED', code: 'chain_unavailable', message: error.message },
  };

  const awaitMintConfirmations: EffectAdapter<AwaitMintParams> = {
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
