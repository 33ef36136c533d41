/**
 * The bodies of the Broker API tokenization calls the issuer makes, declared once for the client that
 * sends them and the fake that serves them. The mint callback body is the mint machine's
 * `NotifyAlpacaParams` (the effect's params are sent as they are).
 */
import type { RequestRedemptionParams } from '../machines/redemption';

/**
 * The redeem body: the redemption machine's `RequestRedemptionParams` with Alpaca's spelling of the
 * issuer request id (single use at Alpaca: a value it has seen is refused with 422 unless replayed
 * with the same Idempotency-Key) and the client id the request names.
 */
export type RedeemBody = Pick<RequestRedemptionParams, 'underlying_symbol' | 'token_symbol' | 'qty' | 'network' | 'wallet_address' | 'tx_hash'> & {
  issuer_request_id: string;
  client_external_account_id?: string;
  client_account_id?: string;
};

/**
 * Alpaca's tokenization request object, as documented (the client parses what arrives more leniently:
 * `tokenizationRequestSchema` in client.ts).
 */
export interface TokenizationRequestObject {
  tokenization_request_id: string;
  issuer_request_id: string | null;
  type: 'mint' | 'redeem';
  status: 'pending' | 'completed' | 'rejected';
  underlying_symbol: string;
  token_symbol: string;
  qty: string;
  issuer: string;
  network: string;
  wallet_address: string;
  tx_hash: string | null;
  fees: string | null;
  created_at: string;
  updated_at: string | null;
  client_external_account_id?: string;
  client_account_id?: string;
  client_request_id?: string;
}

/** The redeem answer (`TokenizationRedeemResponse`): the request object without fees, updated_at or the client ids. */
export type RedeemResponse = Omit<TokenizationRequestObject, 'fees' | 'updated_at' | 'client_external_account_id' | 'client_account_id' | 'client_request_id'>;
