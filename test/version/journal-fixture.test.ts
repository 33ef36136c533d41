import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openTestDatabase } from '../support/test-database';
import { rebuildViews, verifySnapshots } from '../../persistence/replay';
import { FLOW_DEFINITIONS } from '../../server/flows/definitions';
import { tempDir } from '../support/service';

/**
 * Version safety: a journal written by an earlier build (committed fixture: real mints and redemptions)
 * must replay through today's machines to exactly the snapshots that build stored. A machine change or
 * an xstate upgrade that would strand persisted flows fails here; README "Machine versions" says what
 * to do then (keep old states, or bump the version with a snapshot migration, and regenerate the fixture).
 */
describe('persisted flows survive this build (journal fixture replay)', () => {
  const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'journal-fixture.json'), 'utf8'));

  async function load() {
    const db = await openTestDatabase(tempDir('issuance-fixture-'), 'fixture');
    await db.batchInsert('journal', fixture.journal, 100);
    await db.batchInsert('flows', fixture.flows, 100);
    return db;
  }

  it('stores only machine versions this build runs', () => {
    const versions = new Set(FLOW_DEFINITIONS.map((d) => d.version));
    const stored = new Set<string>(fixture.flows.map((f: any) => f.machine_version));
    assert.deepEqual([...stored].filter((v) => !versions.has(v)), [], 'a stored version has no machine in this build: write a migration');
    assert.ok(stored.has('mint@1') && stored.has('redemption@1'));
  });

  it('replays every journal to the committed snapshots', async () => {
    const db = await load();
    try {
      const result = await verifySnapshots(db, FLOW_DEFINITIONS);
      assert.equal(result.flows, fixture.flows.length);
      assert.ok(result.events >= 20);
      assert.deepEqual(result.mismatches.map((m) => m.flowId), []);
      const states = fixture.flows.map((f: any) => f.state).sort();
      assert.ok(states.includes('completed') && states.includes('journalRejected') && states.includes('alpacaRejected') && states.includes('unknownSender'));
    } finally {
      await db.destroy();
    }
  });

  it('notices a stored snapshot that the journal does not reproduce', async () => {
    const db = await load();
    try {
      const row = fixture.flows.find((f: any) => f.state === 'completed' && f.flow_type === 'mint');
      const snapshot = JSON.parse(row.snapshot);
      snapshot.context.qty = '999';
      await db('flows').where({ flow_id: row.flow_id }).update({ snapshot: JSON.stringify(snapshot) });
      const result = await verifySnapshots(db, FLOW_DEFINITIONS);
      assert.deepEqual(result.mismatches.map((m) => m.flowId), [row.flow_id]);
    } finally {
      await db.destroy();
    }
  });

  it('rebuilds every view from the fixture journal', async () => {
    const db = await load();
    try {
      await rebuildViews(db, FLOW_DEFINITIONS);
      const mints = await db('mint_view');
      assert.equal(mints.length, fixture.flows.filter((f: any) => f.flow_type === 'mint').length);
      const redemption = await db('redemption_view').where({ state: 'completed' }).first();
      assert.ok(redemption.burn_tx_hash);
      const receipts = await db('receipt_inventory');
      assert.ok(receipts.some((r: any) => BigInt(r.shares_remaining) < BigInt(r.shares_minted)), 'the burn drew a receipt down');
    } finally {
      await db.destroy();
    }
  });
});
