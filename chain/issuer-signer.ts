import type { TransactionRequest } from 'ethers';

/**
 * What the transaction manager needs from the issuer's key: its address and a signature over a fully
 * built transaction. The keystore wallet is one implementation; a KMS or HSM signer implements the
 * same two members (sign remotely, return the serialized signed transaction), and nothing else changes.
 */
export interface IssuerSigner {
  readonly address: string;
  signTransaction(tx: TransactionRequest): Promise<string>;
}
