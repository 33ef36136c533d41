import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { appendToJournal, readFlowJournal } from '../../persistence/journal';
import { tempDir } from '../support/service';
import { onPostgres, openTestDatabase } from '../support/test-database';

/**
 * What the code stores must read back the same on SQLite and on PostgreSQL (this file runs on both):
 * amounts as exact decimal strings of any length, JSON payloads, epoch-millisecond times past 2^32,
 * ISO timestamps, and the journal's global order.
 */
describe(`persistence: values round-trip exactly (${onPostgres() ? 'PostgreSQL' : 'SQLite'})`, () => {
  let db: Knex;
  before(async () => {
    db = await openTestDatabase(tempDir('issuance-parity-'));
  });
  after(() => db?.destroy());

  it('keeps 78-digit amounts as the same decimal strings (never floats)', async () => {
    const huge = (2n ** 256n - 1n).toString();
    assert.equal(huge.length, 78);
    await db('receipt_inventory').insert({ vault_address: '0x' + 'ab'.repeat(20), receipt_id: huge, network: 'base', token_symbol: 'tAAPL', shares_minted: huge, shares_remaining: '1000000000000000001', minted_by: 'r', tx_hash: '0x' + '00'.repeat(32), block_number: 1, created_at: new Date(0).toISOString() });
    const row = await db('receipt_inventory').where({ receipt_id: huge }).first();
    assert.equal(row.shares_minted, huge);
    assert.equal(BigInt(row.shares_remaining) + 1n, 1000000000000000002n);
  });

  it('reads JSON payloads back deep-equal, and keeps journal order and seq', async () => {
    const payload = { qty: '0.000000001', nested: { list: [1, 'two', null, { ünïcödé: '✓ 株' }], empty: {} }, big: '340282366920938463463374607431768211456', flag: false };
    await db.transaction(async (trx) => {
      for (let seq = 1; seq <= 3; seq++) {
        await appendToJournal(trx, { flowId: 'parity:1', flowType: 'parity', seq, type: `E${seq}`, payload: { ...payload, seq }, correlationId: 'c', causationId: null, recordedAt: new Date(Date.UTC(2026, 10, 25, 0, 0, seq)).toISOString(), machineVersion: 'parity@1' });
      }
    });
    const entries = await readFlowJournal(db, 'parity:1');
    assert.deepEqual(entries.map((e) => e.seq), [1, 2, 3]);
    assert.deepEqual(entries[2]!.payload, { ...payload, seq: 3 });
    assert.equal(entries[0]!.recordedAt, '2026-11-25T00:00:01.000Z');
    assert.ok(entries[0]!.eventId < entries[2]!.eventId, 'ULIDs sort in append order');
  });

  it('keeps epoch-millisecond times beyond 2^32 as exact numbers', async () => {
    const due = Date.UTC(2100, 0, 1, 0, 0, 0, 123);
    assert.ok(due > 2 ** 32);
    await db('timers').insert({ timer_id: 't-parity', flow_id: 'parity:1', send_id: 's', due_at: due, event: JSON.stringify({ type: 'X' }), created_at: new Date(0).toISOString() });
    const row = await db('timers').where({ timer_id: 't-parity' }).first();
    assert.equal(Number(row.due_at), due);
    const [counted] = await db('timers').where('due_at', '>', due - 1).count({ n: '*' });
    assert.equal(Number(counted?.n), 1);
  });
});
