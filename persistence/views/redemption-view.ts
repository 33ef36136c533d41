import type { Knex } from 'knex';
import type { StoredFlow } from '../flow-definition';
import { TAGS } from '../../machines/tags';
import { type RedemptionContext, redemptionIssuerRequestId } from '../../machines/redemption';

export const REDEMPTION_VIEWS = ['redemption_view'];

/**
 * One row per redemption; on the step that records the burn, the receipts it used are drawn down in
 * `receipt_inventory` (the row's previous state tells whether that step is this one).
 */
export async function projectRedemption(trx: Knex.Transaction, flow: StoredFlow, recordedAt: string): Promise<void> {
  const c = flow.snapshot.context as RedemptionContext;
  const previous = await trx('redemption_view').where({ flow_id: flow.flowId }).first('state');
  await trx('redemption_view')
    .insert({
      flow_id: flow.flowId,
      network: c.network,
      tx_hash: c.txHash,
      log_index: c.logIndex,
      sender: c.sender,
      ap_id: c.apId,
      underlying_symbol: c.underlyingSymbol,
      token_symbol: c.tokenSymbol,
      amount_units: c.amountUnits,
      qty: c.qty,
      dust_units: c.dustUnits,
      state: flow.state,
      needs_operator: flow.needsOperator,
      issuer_request_id: redemptionIssuerRequestId(c),
      tokenization_request_id: c.tokenizationRequestId ?? null,
      burn_tx_hash: c.burnTxHash ?? null,
      receipts_used: c.receiptsUsed ? JSON.stringify(c.receiptsUsed) : null,
      return_tx_hash: c.returnTxHash ?? null,
      failure: c.failure ? `${c.failure.code}: ${c.failure.message}`.slice(0, 500) : null,
      created_at: flow.createdAt,
      updated_at: recordedAt,
    })
    .onConflict('flow_id')
    .merge();
  // Only the completed state records the burn, so a row already in this flow's state was drawn down before.
  if (flow.tags.includes(TAGS.burnRecorded) && previous?.state !== flow.state) {
    for (const r of c.receiptsUsed ?? []) {
      const row = await trx('receipt_inventory').where({ vault_address: c.vaultAddress, receipt_id: r.receiptId }).first();
      if (!row) continue;
      const remaining = BigInt(row.shares_remaining) - BigInt(r.amountUnits);
      await trx('receipt_inventory').where({ vault_address: c.vaultAddress, receipt_id: r.receiptId }).update({ shares_remaining: remaining.toString() });
    }
  }
}
