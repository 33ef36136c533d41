import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { OutboxRunner } from '../../runtime/outbox-runner';
import { safeErrorMessage } from '../../core/safe-error';
import type { FlowModule } from '../../server/service';
import { createPayoutView } from '../support/fixtures';
import { payoutMachine } from '../support/payout-flow';
import { startTestService } from '../support/service';

const SECRET = 'k3y-0f-the-hosted-rpc-9f8e7d';

/** Invariant 7: a secret inside an error (an RPC URL with its key) reaches no log line, outbox row or journal event. */
describe('secrets in errors', () => {
  it('replaces URLs and prefers the short message of library errors', () => {
    const ethersLike = Object.assign(new Error(`server response 503 (request={ }, info={ "requestUrl": "https://rpc.example/v3/${SECRET}" })`), { shortMessage: 'server response 503' });
    assert.equal(safeErrorMessage(ethersLike), 'server response 503');
    assert.equal(safeErrorMessage(new Error(`connect ECONNREFUSED https://user:${SECRET}@rpc.example/path`)), 'connect ECONNREFUSED <url>');
  });

  it('keeps a failing effect\'s secret out of the journal, the outbox and the logs', async () => {
    const module: FlowModule = {
      definition: { type: 'payout', machine: payoutMachine, version: 'payout@1' },
      effects: () => ({
        sendPayout: {
          retry: { baseMs: 1, capMs: 1, maxAttempts: 2 },
          run: async () => {
            throw new Error(`request to https://rpc.example/v3/${SECRET} failed`);
          },
          failed: (error) => ({ type: 'PAYOUT_FAILED', error: error.message }),
        },
      }),
    };
    const svc = await startTestService({ modules: [module], autoRun: false });
    let logged = '';
    const log = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, cb) => ((logged += chunk.toString()), cb()) }));
    try {
      await createPayoutView(svc.db);
      const runner = new OutboxRunner(svc.db, svc.host, { sendPayout: module.effects(svc as any).sendPayout! }, svc.testClock, log);
      await svc.host.start('payout', 's-1', { expiresInMs: 60_000 });
      await svc.host.send('s-1', { type: 'ADD', amount: 1 });
      await svc.host.send('s-1', { type: 'PAY' });
      for (let i = 0; i < 3; i++) {
        svc.testClock.advance(1_000);
        await runner.drain();
      }
      assert.equal((await svc.host.require('s-1')).state, 'payoutFailed');
      const journal = JSON.stringify(await svc.db('journal').where({ flow_id: 's-1' }));
      const outbox = JSON.stringify(await svc.db('outbox').where({ flow_id: 's-1' }));
      assert.ok(journal.includes('<url>'), 'the failure is recorded, without its URL');
      for (const [where, text] of [['journal', journal], ['outbox', outbox], ['log', logged]]) assert.ok(!text!.includes(SECRET), `secret in the ${where}`);
      assert.ok(logged.includes('effect failed'), 'the failure was logged');
    } finally {
      await svc.close();
    }
  });
});
