import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { depositsByRequest } from '../support/chain-evidence';
import { type CrashHarness, startCrashHarness } from '../support/crash-harness';
import { tempDir } from '../support/service';

/**
 * The service runs as its own process and is killed with SIGKILL at a named point of the mint; after a
 * restart on the same database, each flow must finish with exactly one deposit and one callback.
 */
describe('mint survives SIGKILL at its riskiest moments', function () {
  this.timeout(120_000);
  let h: CrashHarness;
  before(async () => {
    h = await startCrashHarness();
  });
  after(() => h?.close());

  for (const crashAt of ['txmanager.afterPersist.mint', 'txmanager.afterBroadcast.mint', 'outbox.before.notifyAlpacaOfMint']) {
    it(`killed at ${crashAt}: one deposit and one callback after restart`, async () => {
      const dataDir = tempDir('issuance-crash-');
      let svc = await h.spawn(dataDir, crashAt);
      const clientId = await h.seed(svc, `${crashAt}@ap.example`);
      const trid = crypto.randomUUID();
      const created = await h.alpaca.requestMint({ tokenization_request_id: trid, qty: '4.2', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: h.chain.apAccount.address, client_external_account_id: clientId });
      assert.equal(created.status, 200);
      // The confirm's answer may be lost if the crash comes fast; Alpaca retries on a timeout, so the test does too.
      await h.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed').catch(() => undefined);
      const exit = await svc.exited;
      assert.equal(exit.signal, 'SIGKILL', `the process should have died at ${crashAt}: ${svc.stderr()}`);
      assert.match(svc.stderr(), new RegExp(`failpoint ${crashAt.replace(/\./g, '\\.')}`));

      svc = await h.spawn(dataDir);
      try {
        const again = await h.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
        assert.equal(again.status, 200);
        const done = await h.waitForFlow(svc, `mint:${trid}`, 'completed');
        assert.equal((await depositsByRequest(h.provider, h.chain.vault.vault)).get(trid), 1, 'exactly one deposit on chain');
        const callbacks = h.alpaca.callbacksFor(trid);
        assert.equal(callbacks.length, 1, 'exactly one callback');
        assert.equal(callbacks[0]!.body.tx_hash, done.flow.snapshot.context.txHash);
      } finally {
        await svc.kill('SIGTERM');
      }
    });
  }
});
