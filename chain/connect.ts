import { JsonRpcProvider, Network } from 'ethers';
import type { IssuerSigner } from './issuer-signer';
import { openKeystoreFile } from './keystore';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock';
import type { ChainConnection } from './chain-connection';
import { TransactionManager } from './transaction-manager';
import type { Database } from '../persistence/database';

export interface ChainSettings {
  network: string;
  rpcUrl: string;
  chainId: number;
  confirmations: number;
  keystoreFile: string;
  keystorePasswordFile: string;
}

/** Opens the issuer's signer from its encrypted JSON keystore; the password comes from a file, never the log. */
export const loadIssuerWallet = openKeystoreFile;

export async function connectChain(settings: ChainSettings, db: Database, clock: Clock, log: Logger): Promise<ChainConnection> {
  // Static network and no block-number cache: we never want ethers to guess or serve a stale head.
  const provider = new JsonRpcProvider(settings.rpcUrl, Network.from(settings.chainId), { staticNetwork: true, cacheTimeout: -1 });
  const signer: IssuerSigner = await openKeystoreFile(settings.keystoreFile, settings.keystorePasswordFile);
  const transactions = new TransactionManager(db, provider, signer, settings.chainId, settings.confirmations, clock, log.child({ part: 'transactions', network: settings.network }));
  return { network: settings.network, chainId: settings.chainId, provider, transactions, issuer: signer.address.toLowerCase() };
}
