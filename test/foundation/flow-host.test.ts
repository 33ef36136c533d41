import assert from 'node:assert/strict';
import { EventNotAcceptedError, FlowAlreadyExistsError } from '../../core/errors';
import { HTTP_STATUS } from '../../server/http-status';
import { FlowHost } from '../../runtime/flow-host';
import { openTestDatabase } from '../support/test-database';
import { appendToJournal } from '../../persistence/journal';
import { isUniqueViolation } from '../../persistence/errors';
import { checkViews, verifySnapshots } from '../../persistence/replay';
import { type PayoutProbe, payoutModule } from '../support/payout-flow';
import { count, createPayoutView } from '../support/fixtures';
import { startTestService, type TestService } from '../support/service';

describe('flow host', () => {
  let svc: TestService;
  let probe: PayoutProbe;

  beforeEach(async () => {
    probe = { calls: [], failuresLeft: 0 };
    svc = await startTestService({ modules: [payoutModule(probe)], autoRun: false });
    await createPayoutView(svc.db);
  });
  afterEach(() => svc.close());

  it('appends the start event, stores the snapshot and writes the delayed event as a timer row', async () => {
    const flow = await svc.host.start('payout', 'p-1', { expiresInMs: 60_000 });
    assert.equal(flow.state, 'open');
    assert.equal(flow.seq, 1);
    const journal = await svc.db('journal').where({ flow_id: 'p-1' });
    assert.equal(journal.length, 1);
    assert.equal(journal[0].type, 'flow.started');
    assert.equal(journal[0].machine_version, 'payout@1');
    assert.match(journal[0].event_id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    const timers = await svc.db('timers').where({ flow_id: 'p-1' });
    assert.equal(timers.length, 1);
    assert.equal(timers[0].send_id, 'expiry');
    const stored = await svc.db('flows').where({ flow_id: 'p-1' }).first();
    assert.equal(stored.machine_version, 'payout@1');
    await assert.rejects(svc.host.start('payout', 'p-1', { expiresInMs: 1 }), FlowAlreadyExistsError);
  });

  it('rejects an event the state does not accept and writes nothing', async () => {
    await svc.host.start('payout', 'p-2', { expiresInMs: 60_000 });
    const before = await count(svc.db, 'journal');
    // PAY is guarded (total must be > 0); PAYOUT_SENT is not accepted in `open` at all.
    await assert.rejects(svc.host.send('p-2', { type: 'PAY' }), (e: unknown) => e instanceof EventNotAcceptedError && e.code === 'event_not_accepted' && HTTP_STATUS[e.code] === 409);
    await assert.rejects(svc.host.send('p-2', { type: 'PAYOUT_SENT', ref: 'x' }), EventNotAcceptedError);
    assert.equal(await count(svc.db, 'journal'), before);
    assert.equal(await count(svc.db, 'outbox'), 0);
    assert.equal((await svc.host.require('p-2')).seq, 1);
  });

  it('keeps a gap-free seq under 50 concurrent sends to one flow', async () => {
    await svc.host.start('payout', 'p-3', { expiresInMs: 60_000 });
    await Promise.all(Array.from({ length: 50 }, (_, i) => svc.host.send('p-3', { type: 'ADD', amount: i + 1 })));
    const seqs = (await svc.db('journal').where({ flow_id: 'p-3' }).orderBy('seq')).map((r: any) => Number(r.seq));
    assert.deepEqual(seqs, Array.from({ length: 51 }, (_, i) => i + 1));
    const flow = await svc.host.require('p-3');
    assert.equal(flow.seq, 51);
    assert.equal(flow.snapshot.context.total, (50 * 51) / 2);
  });

  it('refuses a second journal row at the same seq and a snapshot write with a stale seq', async () => {
    await svc.host.start('payout', 'p-4', { expiresInMs: 60_000 });
    const dup = svc.db.transaction((trx) =>
      appendToJournal(trx, { flowId: 'p-4', flowType: 'payout', seq: 1, type: 'ADD', payload: { type: 'ADD', amount: 1 }, recordedAt: new Date().toISOString(), machineVersion: 'payout@1' }),
    );
    await assert.rejects(dup, (e: unknown) => isUniqueViolation(e));
    const updated = await svc.db('flows').where({ flow_id: 'p-4', seq: 0 }).update({ state: 'forged' });
    assert.equal(updated, 0);
    assert.equal((await svc.host.require('p-4')).state, 'open');
  });

  it('serializes two hosts on one database through the seq check (a lost race is retried)', async () => {
    await svc.host.start('payout', 'p-5', { expiresInMs: 60_000 });
    const other = await openTestDatabase(svc.dataDir);
    try {
      const second = new FlowHost(other, [payoutModule(probe).definition]);
      await Promise.all([
        ...Array.from({ length: 10 }, () => svc.host.send('p-5', { type: 'ADD', amount: 1 })),
        ...Array.from({ length: 10 }, () => second.send('p-5', { type: 'ADD', amount: 1 })),
      ]);
      const flow = await svc.host.require('p-5');
      assert.equal(flow.seq, 21);
      assert.equal(flow.snapshot.context.total, 20);
    } finally {
      await other.destroy();
    }
  });

  it('runs an effect after commit and feeds its result back, closing the outbox row in the same transaction', async () => {
    await svc.host.start('payout', 'p-6', { expiresInMs: 60_000 });
    await svc.host.send('p-6', { type: 'ADD', amount: 5 });
    await svc.host.send('p-6', { type: 'PAY' });
    const [row] = await svc.db('outbox').where({ flow_id: 'p-6' });
    assert.equal(row.status, 'pending');
    assert.equal(await count(svc.db, 'timers', { flow_id: 'p-6' }), 0, 'leaving `open` cancels its timer');
    await svc.runner.drain();
    const flow = await svc.host.require('p-6');
    assert.equal(flow.state, 'paid');
    assert.equal(flow.snapshot.context.paidRef, `ref-${row.effect_id}`);
    assert.equal((await svc.db('outbox').where({ effect_id: row.effect_id }).first()).status, 'done');
    const result = await svc.db('journal').where({ flow_id: 'p-6', type: 'PAYOUT_SENT' }).first();
    assert.equal(result.causation_id, row.effect_id);
    assert.deepEqual(probe.calls, [{ effectId: row.effect_id, total: 5 }]);
  });

  it('retries a failing effect with backoff, then parks the flow in an operator state', async () => {
    probe.failuresLeft = 10;
    await svc.host.start('payout', 'p-7', { expiresInMs: 60_000 });
    await svc.host.send('p-7', { type: 'ADD', amount: 1 });
    await svc.host.send('p-7', { type: 'PAY' });
    for (let i = 0; i < 3; i++) {
      svc.testClock.advance(1_000);
      await svc.runner.drain();
    }
    const flow = await svc.host.require('p-7');
    assert.equal(flow.state, 'payoutFailed');
    assert.equal(flow.needsOperator, true);
    assert.equal(probe.calls.length, 3);
    const row = await svc.db('outbox').where({ flow_id: 'p-7' }).first();
    assert.equal(row.status, 'failed');
    assert.equal(Number(row.attempts), 3);
    assert.match(row.last_error, /unavailable/);
  });

  it('does not run an effect again before its backoff has passed', async () => {
    probe.failuresLeft = 1;
    await svc.host.start('payout', 'p-8', { expiresInMs: 60_000 });
    await svc.host.send('p-8', { type: 'ADD', amount: 1 });
    await svc.host.send('p-8', { type: 'PAY' });
    await svc.runner.drain();
    assert.equal(await svc.runner.drain(), 0, 'retry is not due yet');
    svc.testClock.advance(1_000);
    await svc.runner.drain();
    assert.equal((await svc.host.require('p-8')).state, 'paid');
    assert.equal(probe.calls.length, 2);
  });

  it('fires a due timer as an event and deletes its row in the same transaction', async () => {
    await svc.host.start('payout', 'p-9', { expiresInMs: 30_000 });
    assert.equal(await svc.scheduler.fireDue(), 0);
    svc.testClock.advance(30_001);
    assert.equal(await svc.scheduler.fireDue(), 1);
    assert.equal((await svc.host.require('p-9')).state, 'expired');
    assert.equal(await count(svc.db, 'timers', { flow_id: 'p-9' }), 0);
  });

  it('replays every journal to the stored snapshots, and rebuilds views equal to the live ones', async () => {
    for (let i = 0; i < 40; i++) {
      const id = `many-${i}`;
      await svc.host.start('payout', id, { expiresInMs: 60_000 });
      for (let k = 0; k <= i % 4; k++) await svc.host.send(id, { type: 'ADD', amount: k + 1 });
      if (i % 3 === 0) await svc.host.send(id, { type: 'PAY' });
    }
    await svc.runner.drain();
    svc.testClock.advance(60_001);
    await svc.scheduler.fireDue();
    await svc.accounts.register({ email: 'ap@example.com', wallets: [{ network: 'ethereum', address: '0x' + '11'.repeat(20) }] });
    const result = await verifySnapshots(svc.db, svc.host.allDefinitions());
    assert.equal(result.flows, 40);
    assert.ok(result.events > 80);
    assert.deepEqual(result.mismatches, []);
    const views = await checkViews(svc.db, svc.host.allDefinitions());
    assert.deepEqual(views.differing, []);
    // A corrupted view row is caught.
    await svc.db('payout_view').where({ flow_id: 'many-1' }).update({ total: 999 });
    assert.deepEqual((await checkViews(svc.db, svc.host.allDefinitions())).differing, ['payout_view']);
  });
});

describe('flow host across a restart', () => {
  it('restores every non-final flow with its pending timers and outbox rows, and finishes them', async () => {
    const probe: PayoutProbe = { calls: [], failuresLeft: 0 };
    const first = await startTestService({ modules: [payoutModule(probe)], autoRun: false });
    await createPayoutView(first.db);
    await first.host.start('payout', 'r-timer', { expiresInMs: 5_000 });
    await first.host.start('payout', 'r-effect', { expiresInMs: 60_000 });
    await first.host.send('r-effect', { type: 'ADD', amount: 3 });
    await first.host.send('r-effect', { type: 'PAY' });
    await first.close();

    const second = await startTestService({ modules: [payoutModule(probe)], dataDir: first.dataDir, autoRun: false });
    try {
      const restored = await second.host.restoreAll();
      assert.deepEqual(restored, { active: 2, needsOperator: 0, pendingEffects: 1, pendingTimers: 1 });
      await second.runner.drain();
      second.testClock.advance(5_001);
      await second.scheduler.fireDue();
      assert.equal((await second.host.require('r-effect')).state, 'paid');
      assert.equal((await second.host.require('r-timer')).state, 'expired');
      assert.equal(probe.calls.length, 1);
    } finally {
      await second.close();
    }
  });
});
