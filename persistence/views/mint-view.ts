import type { Knex } from 'knex';
import type { StoredFlow } from '../flow-definition';
import type { MintContext } from '../../machines/mint';

export const MINT_VIEWS = ['mint_view', 'receipt_inventory'];

/** One row per tokenization request, and the receipt its deposit created. */
export async function projectMint(trx: Knex.Transaction, flow: StoredFlow, recordedAt: string): Promise<void> {
  const c = flow.snapshot.context as MintContext;
  await trx('mint_view')
    .insert({
      tokenization_request_id: c.tokenizationRequestId,
      issuer_request_id: c.issuerRequestId,
      ap_id: c.apId,
      underlying_symbol: c.underlyingSymbol,
      token_symbol: c.tokenSymbol,
      network: c.network,
      qty: c.qty,
      wallet_address: c.walletAddress,
      state: flow.state,
      needs_operator: flow.needsOperator,
      tx_hash: c.txHash ?? null,
      receipt_id: c.receiptId ?? null,
      failure: c.failure ? `${c.failure.code}: ${c.failure.message}`.slice(0, 500) : null,
      created_at: flow.createdAt,
      updated_at: recordedAt,
    })
    .onConflict('tokenization_request_id')
    .merge(['state', 'needs_operator', 'tx_hash', 'receipt_id', 'failure', 'updated_at']);
  if (c.receiptId && c.txHash && c.blockNumber !== undefined) {
    await trx('receipt_inventory')
      .insert({
        vault_address: c.vaultAddress,
        receipt_id: c.receiptId,
        network: c.network,
        token_symbol: c.tokenSymbol,
        shares_minted: c.amountUnits,
        shares_remaining: c.amountUnits,
        minted_by: c.tokenizationRequestId,
        tx_hash: c.txHash,
        block_number: c.blockNumber,
        created_at: recordedAt,
      })
      .onConflict(['vault_address', 'receipt_id'])
      .ignore();
  }
}
