import { getAddress, isAddress } from 'ethers';

/** Alpaca's network enum as of 2026-11; it grows, so an unknown value is data, answered with a 4xx. */
export const ALPACA_NETWORKS = ['arbitrum', 'base', 'binance', 'cronos', 'ethereum', 'hypercore', 'hyperevm', 'mantle', 'robinhood', 'solana', 'ton', 'tron'] as const;

/** Networks where an OffchainAssetReceiptVault can live (EVM chains); the only ones we mint on. */
export const EVM_NETWORKS = new Set(['arbitrum', 'base', 'binance', 'cronos', 'ethereum', 'hyperevm', 'mantle', 'robinhood']);

export function isSupportedNetwork(network: string): boolean {
  return EVM_NETWORKS.has(network);
}

/** The canonical form we store and compare (lower-case hex), or undefined when not an address of that network. */
export function normalizeWalletAddress(network: string, address: string): string | undefined {
  if (!EVM_NETWORKS.has(network)) return undefined;
  if (!/^0x[0-9a-fA-F]{40}$/.test(address) || !isAddress(address)) return undefined;
  return getAddress(address).toLowerCase();
}
