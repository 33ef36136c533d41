import assert from 'node:assert/strict';
import { WebSocketServer } from 'ws';
import { createMachine } from 'xstate';
import { mintMachine } from '../../machines/mint';
import { redemptionMachine } from '../../machines/redemption';
import { type PayoutProbe, payoutModule } from '../support/payout-flow';
import { createPayoutView } from '../support/fixtures';
import { startTestService } from '../support/service';

describe('machines in the Stately tools', () => {
  it('load from their plain config with createMachine, as Stately Studio loads them', () => {
    for (const machine of [mintMachine, redemptionMachine]) {
      const plain = createMachine(JSON.parse(JSON.stringify(machine.config)));
      const states = (m: any): string[] => Object.keys(m.root.states);
      assert.deepEqual(states(plain), states(machine));
      // Effects are named actions (no code in the config): the studio shows their names.
      const text = JSON.stringify(machine.config);
      for (const effect of machine === mintMachine ? ['submitMintTransaction', 'awaitMintConfirmations', 'notifyAlpacaOfMint'] : ['requestRedemption', 'pollRedemption', 'submitBurn']) assert.ok(text.includes(`"${effect}"`), effect);
    }
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
