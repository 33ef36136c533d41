import assert from 'node:assert/strict';
import path from 'node:path';
import type { Knex } from 'knex';
import { ReceiptStore } from '../../persistence/receipt-store';
import { openTestDatabase } from '../support/test-database';
import { tempDir } from '../support/service';

const VAULT = '0x' + 'aa'.repeat(20);
const E18 = 10n ** 18n;

/** The receipt inventory rule: oldest first, split when needed, and a burn's claim holds until its flow recorded the burn. */
describe('receipt allocation for burns', () => {
  let db: Knex;
  beforeEach(async () => {
    db = await openTestDatabase(tempDir('issuance-alloc-'), 'a');
    const now = new Date().toISOString();
    await db('receipt_inventory').insert([
      { vault_address: VAULT, receipt_id: '2', network: 'base', token_symbol: 't', shares_minted: (3n * E18).toString(), shares_remaining: (3n * E18).toString(), minted_by: 'b', tx_hash: '0x2', block_number: 2, created_at: now },
      { vault_address: VAULT, receipt_id: '10', network: 'base', token_symbol: 't', shares_minted: (3n * E18).toString(), shares_remaining: (3n * E18).toString(), minted_by: 'c', tx_hash: '0x3', block_number: 3, created_at: now },
      { vault_address: VAULT, receipt_id: '1', network: 'base', token_symbol: 't', shares_minted: (1n * E18).toString(), shares_remaining: (1n * E18).toString(), minted_by: 'a', tx_hash: '0x1', block_number: 1, created_at: now },
    ]);
  });
  afterEach(() => db.destroy());
  const allocateReceipts = (d: Knex, vault: string, amount: bigint) => new ReceiptStore(d).allocateForBurn(vault, amount);

  async function burnInFlight(status: string, flowState: string, receiptId: string, amount: bigint) {
    const now = new Date().toISOString();
    const intent = `burn:${status}:${flowState}`;
    await db('flows').insert({ flow_id: `redemption:${intent}`, flow_type: 'redemption', seq: 5, state: flowState, status: flowState === 'completed' ? 'done' : 'active', needs_operator: false, tags: flowState === 'completed' ? '|burnRecorded|' : '', snapshot: '{}', machine_version: 'redemption@1', created_at: now, updated_at: now });
    await db('chain_transactions').insert({ intent_id: intent, flow_id: `redemption:${intent}`, chain_id: 1, from_address: '0x' + '11'.repeat(20), nonce: Math.floor(Math.random() * 1e6), tx_hash: `0x${Math.random().toString(16).slice(2)}`, raw_tx: '0x', status, created_at: now, updated_at: now });
    await db('burn_allocations').insert({ intent_id: intent, vault_address: VAULT, receipt_id: receiptId, amount_units: amount.toString() });
  }

  it('takes the oldest receipts first (by id, numerically) and splits across them', async () => {
    assert.deepEqual(await allocateReceipts(db, VAULT, 2n * E18), [
      { receiptId: '1', amountUnits: E18.toString() },
      { receiptId: '2', amountUnits: E18.toString() },
    ]);
    assert.equal(await allocateReceipts(db, VAULT, 8n * E18), undefined, 'more than the whole inventory');
  });

  it('keeps a burn\'s claim while its transaction is in flight and after it is mined, until its flow recorded the burn', async () => {
    await burnInFlight('broadcast', 'burning.confirming', '1', E18);
    await burnInFlight('confirmed', 'burning.confirming', '2', 3n * E18); // mined, BURN_CONFIRMED not yet committed
    assert.deepEqual(await allocateReceipts(db, VAULT, E18), [{ receiptId: '10', amountUnits: E18.toString() }]);
    assert.equal(await allocateReceipts(db, VAULT, 4n * E18), undefined);
  });

  it('gives the claim back when the burn reverted, and stops counting it once the view was drawn down', async () => {
    await burnInFlight('reverted', 'burnReverted', '1', E18);
    await burnInFlight('confirmed', 'completed', '2', 3n * E18);
    await db('receipt_inventory').where({ receipt_id: '2' }).update({ shares_remaining: '0' }); // what the completed flow's projection did
    assert.deepEqual(await allocateReceipts(db, VAULT, 2n * E18), [
      { receiptId: '1', amountUnits: E18.toString() },
      { receiptId: '10', amountUnits: E18.toString() },
    ]);
  });
});
