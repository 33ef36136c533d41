import assert from 'node:assert/strict';
import { WebSocketServer } from 'ws';
import { createMachine } from 'xstate';
import { mintMachine } from '../../machines/mint';
import { redemptionMachine } from '../../machines/redemption';
import { INLINE } from '../../runtime/studio/names';
import { toStudioConfig } from '../../runtime/studio/studio';
import { machineShape } from './machine-shape';
import { type PayoutProbe, payoutMachine, payoutModule } from '../support/payout-flow';
import { createPayoutView } from '../support/fixtures';
import { startTestService } from '../support/service';

describe('machines in the Stately tools', () => {
  for (const machine of [mintMachine, redemptionMachine]) {
    it(`${machine.id}: exports as plain JSON that createMachine loads back to the same machine (Stately Studio's import)`, () => {
      const exported = toStudioConfig(machine);
      assertPlainJson(exported, machine.id);
      const text = JSON.stringify(exported);
      assert.deepEqual(JSON.parse(text), exported, 'nothing is lost in JSON');
      const loaded = createMachine(JSON.parse(text));
      const before = machineShape(machine);
      const after = machineShape(loaded);
      // Same state ids, kinds, initial states and tags; same entry/exit action names.
      assert.deepEqual(after.states, before.states);
      // Same transitions: event, source, targets, guard, action names, in the same order (priority).
      assert.deepEqual(after.transitions, before.transitions);
      assert.ok(before.transitions.length > 10 && before.states.some((s) => s.tags.includes('needsOperator')), 'the comparison saw the real machine');
      // Code never reaches the Studio: every guard and action is named, built-ins by their xstate name.
      assert.ok(!text.includes(INLINE), 'an anonymous function in the machine');
      assert.ok(!text.includes('null'), 'a function turned into null');
      for (const effect of machine === mintMachine ? ['submitMintTransaction', 'awaitMintConfirmations', 'notifyAlpacaOfMint'] : ['requestRedemption', 'pollRedemption', 'submitBurn', 'returnTokensToSender']) {
        assert.ok(text.includes(`"${effect}"`), effect);
      }
      assert.ok(text.includes('"xstate.raise"') && text.includes('"xstate.cancel"'), 'durable timers show as named raise/cancel');
    });
  }

  it('the export keeps what plain JSON.stringify would lose, and marks anonymous code', () => {
    // JSON.stringify turns the built-in assign of mintReverted's retry into null.
    const naive = JSON.parse(JSON.stringify(mintMachine.config));
    assert.deepEqual(naive.states.mintReverted.on.OPERATOR_RETRY_MINT.actions, ['clearFailure', null]);
    const exported = toStudioConfig(mintMachine) as any;
    assert.deepEqual(exported.states.mintReverted.on.OPERATOR_RETRY_MINT.actions, ['clearFailure', { type: 'xstate.assign', params: { keys: ['mintAttempt'] } }]);
    assert.equal(exported.context, undefined, 'context is a function of the input: left out');
    // The test flow's inline guard cannot be named: it is marked, and the check above would catch it.
    const payout = JSON.stringify(toStudioConfig(payoutMachine));
    assert.ok(payout.includes(`"guard":"${INLINE}"`), payout);
  });

  it('streams every committed transition to a Stately inspector over WebSocket', async () => {
    const wss = new WebSocketServer({ port: 0 });
    const received: any[] = [];
    wss.on('connection', (ws) => ws.on('message', (data) => received.push(JSON.parse(data.toString()))));
    const port = (wss.address() as { port: number }).port;
    const probe: PayoutProbe = { calls: [], failuresLeft: 0 };
    const svc = await startTestService({ modules: [payoutModule(probe)], autoRun: false, config: { inspectUrl: `ws://127.0.0.1:${port}` } });
    try {
      await createPayoutView(svc.db);
      await svc.host.start('payout', 'inspected-1', { expiresInMs: 60_000 });
      await svc.host.send('inspected-1', { type: 'ADD', amount: 3 });
      const deadline = Date.now() + 5_000;
      while (received.filter((e) => e.type === '@xstate.snapshot').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const actor = received.find((e) => e.type === '@xstate.actor');
      assert.equal(actor.sessionId, 'inspected-1');
      assert.equal(JSON.parse(actor.definition).id, 'payout');
      assert.deepEqual(received.filter((e) => e.type === '@xstate.event').map((e) => e.event.type), ['flow.started', 'ADD']);
      const last = received.filter((e) => e.type === '@xstate.snapshot').pop();
      assert.equal(last.snapshot.context.total, 3);
      assert.ok(!JSON.stringify(received).includes(svc.apiKey) && !JSON.stringify(received).includes(svc.operatorToken), 'no secret in the stream');
    } finally {
      await svc.close();
      wss.close();
    }
  });
});

/** Only strings, finite numbers, booleans, null, arrays and plain objects: what a JSON file can hold. */
function assertPlainJson(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') return assert.ok(Number.isFinite(value), `${path} is not a finite number`);
  if (Array.isArray(value)) return value.forEach((v, i) => assertPlainJson(v, `${path}[${i}]`));
  assert.ok(typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype, `${path} is a ${typeof value}, not plain JSON`);
  for (const [k, v] of Object.entries(value as object)) {
    assert.notEqual(v, undefined, `${path}.${k} is undefined`);
    assertPlainJson(v, `${path}.${k}`);
  }
}
