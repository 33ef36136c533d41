// Shared setup for chain tests: a provider tuned for a local automining node.
import { JsonRpcProvider, Network, Wallet } from 'ethers';
import type { Devnet } from '../../chain/devnet';

export function devnetProvider(devnet: Devnet): JsonRpcProvider {
  // Static network skips eth_chainId probing; no block-number cache so reads see the tx just mined.
  return new JsonRpcProvider(devnet.rpcUrl, Network.from(devnet.chainId), {
    staticNetwork: true,
    cacheTimeout: -1,
    pollingInterval: 20,
  });
}

export function devnetWallet(devnet: Devnet, index: number, provider: JsonRpcProvider): Wallet {
  const account = devnet.accounts[index];
  if (!account) throw new Error(`devnet has no account ${index}`);
  return new Wallet(account.privateKey, provider);
}

/** Runs fn, which must fail, and returns what it threw. */
export async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure, but the call succeeded');
}
