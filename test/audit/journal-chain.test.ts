import assert from 'node:assert/strict';
import { FlowHost } from '../../runtime/flow-host';
import { verifyJournalChains } from '../../persistence/audit/verify-journal';
import { GENESIS_HASH, hashedFieldsOfRow, journalRowHash } from '../../persistence/journal-hash';
import * as hashChainMigration from '../../persistence/migrations/008_journal_hash_chain';
import { runCli } from '../cli/fixtures';
import { count, createPayoutView } from '../support/fixtures';
import { type PayoutProbe, payoutModule } from '../support/payout-flow';
import { startTestService, type TestService } from '../support/service';
import { openTestDatabase } from '../support/test-database';

/**
 * The journal's per-flow hash chain: written by every append (flow host and registry alike), kept
 * intact by concurrent appends on one database, rebuilt identically by the migration, and broken,
 * with the row named, by any change made to the stored rows afterwards.
 */
describe('journal hash chain', function () {
  this.timeout(60_000);
  let svc: TestService;
  let probe: PayoutProbe;

  beforeEach(async () => {
    probe = { calls: [], failuresLeft: 0 };
    svc = await startTestService({ modules: [payoutModule(probe)], autoRun: false });
    await createPayoutView(svc.db);
  });
  afterEach(() => svc?.close());

  /** A few flows and registry entities with several events each. */
  async function someHistory(): Promise<void> {
    for (const id of ['c-1', 'c-2', 'c-3']) {
      await svc.host.start('payout', id, { expiresInMs: 60_000 });
      for (let i = 1; i <= 3; i++) await svc.host.send(id, { type: 'ADD', amount: i });
    }
    const asset = await svc.assets.add({ underlyingSymbol: 'AAPL', tokenSymbol: 'tAAPL', network: 'base', vaultAddress: '0x' + '5a'.repeat(20), decimals: 18 });
    await svc.assets.halt(asset.assetId, 'audit test');
    await svc.assets.resume(asset.assetId);
  }

  it('chains every row to its flow\'s previous one, from the genesis hash, and an untouched journal verifies', async () => {
    await someHistory();
    const rows = await svc.db('journal').orderBy([{ column: 'flow_id' }, { column: 'seq' }]);
    let prev: Record<string, any> | undefined;
    for (const row of rows) {
      const expectedPrev = prev && prev.flow_id === row.flow_id ? prev.hash : GENESIS_HASH;
      assert.equal(row.prev_hash, expectedPrev, `${row.flow_id} seq ${row.seq} links to its predecessor`);
      assert.equal(row.hash, journalRowHash(row.prev_hash, hashedFieldsOfRow(row)));
      prev = row;
    }
    const result = await verifyJournalChains(svc.db);
    assert.deepEqual(result.problems, []);
    assert.equal(result.ok, true);
    assert.equal(result.events, rows.length);
    assert.equal(result.flows, new Set(rows.map((r: any) => r.flow_id)).size);
    assert.ok(result.flows >= 4, 'payout flows and the asset entity');
    const remote = await svc.operator('GET', '/operator/audit/verify');
    assert.equal(remote.status, 200);
    assert.deepEqual(remote.body, { ok: true, flows: result.flows, events: result.events, problem_count: 0, problems: [] });
  });

  it('a payload changed in the database fails verification, naming the row; the CLI exits 1 saying so', async () => {
    await someHistory();
    const row = await svc.db('journal').where({ flow_id: 'c-2', seq: 3 }).first();
    const payload = JSON.parse(row.payload);
    payload.amount = 1000;
    await svc.db('journal').where({ position: row.position }).update({ payload: JSON.stringify(payload) });

    const result = await verifyJournalChains(svc.db);
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.problems.map((p) => [p.position, p.flowId, p.seq, p.eventId]),
      [[Number(row.position), 'c-2', 3, row.event_id]],
    );
    assert.match(result.problems[0]!.problem, /does not match its hash/);
    const remote = await svc.operator('GET', '/operator/audit/verify');
    assert.deepEqual([remote.body.ok, remote.body.problems[0].position, remote.body.problems[0].flow_id], [false, Number(row.position), 'c-2']);

    const cli = await runCli(['audit', 'verify'], {}, svc.dataDir);
    assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    assert.equal(cli.stderr.trim().split('\n').length, 1);
    assert.match(cli.stderr, new RegExp(`journal row ${row.position} \\(c-2 seq 3, event ${row.event_id}\\)`));
    const json = await runCli(['--json', 'audit', 'verify'], {}, svc.dataDir);
    assert.equal(json.json().problems[0].position, Number(row.position));
  });

  it('the CLI verifies an untouched database (exit 0)', async () => {
    await someHistory();
    const cli = await runCli(['audit', 'verify'], {}, svc.dataDir);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /journal: 4 flows, \d+ events, 0 problems/);
  });

  it('a re-hashed row breaks the link of the next one; rows removed from the middle or the end of a flow are found', async () => {
    await someHistory();
    // An edit that also recomputes the row's own hash still breaks the chain at the next row.
    const edited = await svc.db('journal').where({ flow_id: 'c-1', seq: 2 }).first();
    const forged = { ...edited, payload: JSON.stringify({ type: 'ADD', amount: 99 }) };
    await svc.db('journal').where({ position: edited.position }).update({ payload: forged.payload, hash: journalRowHash(edited.prev_hash, hashedFieldsOfRow(forged)) });
    await svc.db('journal').where({ flow_id: 'c-2', seq: 2 }).delete();
    await svc.db('journal').where({ flow_id: 'c-3', seq: 4 }).delete();

    const result = await verifyJournalChains(svc.db);
    const found = result.problems.map((p) => `${p.flowId}#${p.seq}: ${p.problem}`);
    assert.ok(found.some((p) => /^c-1#3: prev_hash does not match/.test(p)), found.join('\n'));
    assert.ok(found.some((p) => /^c-2#3: seq 3 follows seq 1/.test(p)), found.join('\n'));
    assert.ok(found.some((p) => /^c-3#4: the flow's snapshot is at seq 4 but its journal ends at seq 3/.test(p)), found.join('\n'));
    assert.equal(result.problemCount, 4, found.join('\n')); // c-2's next row also no longer links
  });

  it('concurrent appends to many flows, and to one flow from two hosts, keep every chain whole', async () => {
    const other = await openTestDatabase(svc.dataDir);
    try {
      const second = new FlowHost(other, [payoutModule(probe).definition]);
      const ids = Array.from({ length: 12 }, (_, i) => `k-${i}`);
      await Promise.all(ids.map((id) => svc.host.start('payout', id, { expiresInMs: 60_000 })));
      await Promise.all(ids.flatMap((id) => Array.from({ length: 6 }, (_, j) => (j % 2 ? second : svc.host).send(id, { type: 'ADD', amount: 1 }))));
      // Entity appends (advisory lock on PostgreSQL) interleaved with flow appends.
      await Promise.all([
        ...Array.from({ length: 5 }, (_, i) => svc.assets.add({ underlyingSymbol: `S${i}`, tokenSymbol: `tS${i}`, network: 'base', vaultAddress: '0x' + `${i}a`.repeat(20), decimals: 18 })),
        ...ids.map((id) => svc.host.send(id, { type: 'ADD', amount: 1 })),
      ]);
      for (const id of ids) assert.equal((await svc.host.require(id)).seq, 8);
      const result = await verifyJournalChains(svc.db);
      assert.deepEqual(result.problems, []);
      assert.equal(result.events, await count(svc.db, 'journal'));
    } finally {
      await other.destroy();
    }
  });

  it('the migration chains rows written before it exactly as appends chain them', async () => {
    await someHistory();
    const before = (await svc.db('journal').orderBy('position').select('position', 'prev_hash', 'hash')).map((r: any) => ({ ...r, position: Number(r.position) }));
    await hashChainMigration.down(svc.db);
    assert.equal(await svc.db.schema.hasColumn('journal', 'hash'), false);
    await hashChainMigration.up(svc.db);
    const after = (await svc.db('journal').orderBy('position').select('position', 'prev_hash', 'hash')).map((r: any) => ({ ...r, position: Number(r.position) }));
    assert.deepEqual(after, before);
    assert.equal((await verifyJournalChains(svc.db)).ok, true);
  });
});
