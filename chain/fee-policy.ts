import type { Provider } from 'ethers';

export interface FeePolicy {
  /** Tip to the block producer, in wei. */
  priorityFeeWei: bigint;
  /** Multiplier on the latest base fee, so a transaction survives a few rising blocks. */
  baseFeeMultiplier: bigint;
  /** Never pay more than this per gas, whatever the chain asks; the transaction waits instead. */
  maxFeeCapWei: bigint;
}

export const DEFAULT_FEE_POLICY: FeePolicy = { priorityFeeWei: 1_000_000_000n, baseFeeMultiplier: 2n, maxFeeCapWei: 500_000_000_000n };

/** EIP-1559 fees: maxFee = min(cap, base × multiplier + tip). */
export async function feesFor(provider: Provider, policy: FeePolicy): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
  const block = await provider.getBlock('latest');
  const base = block?.baseFeePerGas ?? 0n;
  const maxFee = base * policy.baseFeeMultiplier + policy.priorityFeeWei;
  return { maxFeePerGas: maxFee > policy.maxFeeCapWei ? policy.maxFeeCapWei : maxFee, maxPriorityFeePerGas: policy.priorityFeeWei };
}
