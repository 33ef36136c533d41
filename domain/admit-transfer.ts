import { splitForAlpaca } from '../core/amounts';
import type { RedemptionInput } from '../machines/redemption';
import type { AuthorizedParticipant } from '../persistence/registry/accounts';
import type { TokenizedAsset } from '../persistence/registry/assets';

/** A transfer of an asset's shares into the redemption wallet, as found on chain. */
export interface IncomingTransfer {
  network: string;
  txHash: string;
  logIndex: number;
  blockNumber: number;
  /** Lower-case sender address. */
  sender: string;
  /** Shares received, in base units. */
  amountUnits: bigint;
  asset: TokenizedAsset;
}

/** What was looked up about the transfer before it is admitted. */
export interface TransferFacts {
  /** The AP that registered the sending wallet, if any. */
  ap: AuthorizedParticipant | undefined;
  /** Set when the transfer would take the asset's redemptions of the UTC day over its daily cap. */
  overDailyCap: { cap: string; redeemedToday: string } | null;
  /** Seen before and reorganised away: the state its earlier flow is in, passed to the machine as is. */
  earlierFlowState: string | null;
  /** The redemption's timings. */
  pollIntervalMs: number;
  alpacaDeadlineMs: number;
}

/** The quantity Alpaca would be asked to redeem for `amountUnits` of the asset (rounded down to 9 dp). */
export const redemptionQty = (amountUnits: bigint, asset: TokenizedAsset): string => splitForAlpaca(amountUnits, asset.decimals).qty;

/**
 * Every detected transfer starts a redemption: this builds its input. What becomes of it (an unknown
 * sender, a halted asset, over the daily cap, dust, a transfer mined again) the machine decides.
 */
export function admitTransfer(transfer: IncomingTransfer, facts: TransferFacts): RedemptionInput {
  const { asset } = transfer;
  const split = splitForAlpaca(transfer.amountUnits, asset.decimals);
  const linked = facts.ap?.link ? facts.ap : undefined;
  return {
    network: transfer.network,
    txHash: transfer.txHash,
    logIndex: transfer.logIndex,
    blockNumber: transfer.blockNumber,
    sender: transfer.sender,
    amountUnits: transfer.amountUnits.toString(),
    assetId: asset.assetId,
    underlyingSymbol: asset.underlyingSymbol,
    tokenSymbol: asset.tokenSymbol,
    vaultAddress: asset.vaultAddress,
    decimals: asset.decimals,
    apId: linked ? linked.apId : null,
    clientRef: linked ? { client_external_account_id: linked.apId } : null,
    assetHalted: asset.halted,
    overDailyCap: facts.overDailyCap,
    earlierFlowState: facts.earlierFlowState,
    qty: split.qty,
    qtyUnits: split.qtyUnits.toString(),
    dustUnits: split.dustUnits.toString(),
    pollIntervalMs: facts.pollIntervalMs,
    alpacaDeadlineMs: facts.alpacaDeadlineMs,
  };
}
