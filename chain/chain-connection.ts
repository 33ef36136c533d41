import type { JsonRpcProvider } from 'ethers';
import { PermanentEffectError } from '../runtime/effect-adapter';
import { TransactionWouldRevertError, type TransactionManager } from './transaction-manager';
import { decodeVaultError } from './vault';

/** One EVM network the issuer works on: its node, its signer's transaction manager, the issuer address. */
export interface ChainConnection {
  network: string;
  chainId: number;
  provider: JsonRpcProvider;
  transactions: TransactionManager;
  /** The issuer's address: it receives the receipts, is the redemption wallet, and signs every transaction. */
  issuer: string;
}

export interface ChainEffectSettings {
  /** How long one confirmation check waits before handing the row back to the outbox. */
  confirmWaitMs: number;
  confirmAttempts: number;
  submitAttempts: number;
}

export function connectionFor(chains: Map<string, ChainConnection>, network: string): ChainConnection {
  const chain = chains.get(network);
  if (!chain) throw new PermanentEffectError(`no chain connection configured for network ${network}`, 'network_not_configured');
  return chain;
}

/** Still waiting for confirmations: the outbox runner retries it, which is the polling loop. */
export class NotYetConfirmed extends Error {}

/** The vault refused to even simulate the call: a permanent failure with the vault's reason; anything else is rethrown as is. */
export function rethrowAsVaultRefusal(err: unknown): never {
  if (err instanceof TransactionWouldRevertError) {
    const decoded = decodeVaultError(err.reason);
    throw new PermanentEffectError(decoded.message, decoded.code);
  }
  throw err;
}
