import { toBaseUnits } from '../core/amounts';
import { DomainError, type ErrorCode } from '../core/errors';
import { isSupportedNetwork, normalizeWalletAddress } from '../core/networks';
import type { MintInput } from '../machines/mint';
import type { AuthorizedParticipant } from '../persistence/registry/accounts';
import type { TokenizedAsset } from '../persistence/registry/assets';

/** Alpaca's documented rejection reasons, each with our stable code. */
export const REASONS = {
  payload: 'Failed Validation: Invalid data payload',
  wallet: 'Invalid Wallet: Wallet does not belong to client',
  token: 'Invalid Token: Token not available on the network',
  eligibility: 'Insufficient Eligibility: Client not eligible',
} as const;

/** Alpaca's mint request, as parsed from its body (current and legacy field names alike). */
export interface MintRequest {
  tokenizationRequestId: string;
  qty: string;
  underlyingSymbol: string;
  tokenSymbol: string;
  network: string;
  walletAddress: string;
  clientRef: MintInput['clientRef'];
}

/** What was looked up about the request before it is admitted. */
export interface MintFacts {
  /** The AP linked to the request's client id, if any. */
  ap: AuthorizedParticipant | undefined;
  /** The asset of the request's token on its network, if any. */
  asset: TokenizedAsset | undefined;
  /** The id we answer Alpaca with, assigned to this request. */
  issuerRequestId: string;
  /** The request's hash: a repeat with the same id must carry the same request. */
  requestHash: string;
  journalTimeoutMs: number;
}

/**
 * Alpaca's own checks of a mint request, in its order: an eligible client, a token on a supported
 * network, an asset not halted, the AP's own wallet, a quantity the token can hold. The first that
 * fails refuses the request; otherwise the mint's input.
 */
export function admitMint(request: MintRequest, facts: MintFacts): { input: MintInput } | { refusal: DomainError } {
  const refuse = (code: ErrorCode, message: string) => ({ refusal: new DomainError(code, message) });
  const { ap, asset } = facts;
  if (!ap) return refuse('client_not_eligible', REASONS.eligibility);
  if (!isSupportedNetwork(request.network)) return refuse('token_not_available', REASONS.token);
  if (!asset || !asset.enabled || asset.underlyingSymbol !== request.underlyingSymbol) return refuse('token_not_available', REASONS.token);
  if (asset.halted) return refuse('asset_halted', `Asset Halted: minting ${asset.tokenSymbol} on ${asset.network} is halted`);
  const wallet = normalizeWalletAddress(request.network, request.walletAddress);
  if (!wallet) return refuse('invalid_wallet_address', REASONS.payload);
  if (!ap.wallets.some((w) => w.network === request.network && w.address === wallet)) return refuse('wallet_not_registered', REASONS.wallet);
  let amountUnits: bigint;
  try {
    amountUnits = toBaseUnits(request.qty, asset.decimals);
  } catch {
    return refuse('invalid_payload', REASONS.payload);
  }
  return {
    input: {
      tokenizationRequestId: request.tokenizationRequestId,
      issuerRequestId: facts.issuerRequestId,
      requestHash: facts.requestHash,
      apId: ap.apId,
      clientRef: request.clientRef,
      assetId: asset.assetId,
      underlyingSymbol: asset.underlyingSymbol,
      tokenSymbol: asset.tokenSymbol,
      network: asset.network,
      vaultAddress: asset.vaultAddress,
      decimals: asset.decimals,
      walletAddress: wallet,
      qty: request.qty,
      amountUnits: amountUnits.toString(),
      journalTimeoutMs: facts.journalTimeoutMs,
    },
  };
}
