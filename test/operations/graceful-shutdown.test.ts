import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { depositsByRequest } from '../support/chain-evidence';
import { type CrashHarness, startCrashHarness } from '../support/crash-harness';
import type { ChildService } from '../support/child-service';
import { tempDir } from '../support/service';

/**
 * SIGTERM while a mint is calling Alpaca back: the process stops taking connections, lets the call
 * finish within the shutdown bound (or abandons it at the bound), closes the database and exits 0.
 * After a restart every flow completes, with one deposit and one tx hash in every callback.
 */
describe('operations: graceful shutdown with a flow in flight', function () {
  this.timeout(120_000);
  let h: CrashHarness;
  before(async () => {
    h = await startCrashHarness();
  });
  after(() => h?.close());
  afterEach(() => {
    h.alpaca.behaviour.delayMs = 0;
  });

  async function mintUntilCallingBack(svc: ChildService, email: string): Promise<string> {
    const clientId = await h.seed(svc, email);
    const trid = crypto.randomUUID();
    const created = await h.alpaca.requestMint({ tokenization_request_id: trid, qty: '2', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: h.chain.apAccount.address, client_external_account_id: clientId });
    assert.equal(created.status, 200);
    assert.equal((await h.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed')).status, 200);
    await h.waitForFlow(svc, `mint:${trid}`, 'callingBack', 20_000);
    return trid;
  }

  async function terminate(svc: ChildService): Promise<{ ms: number; code: number | null; refusedWhileStopping: boolean }> {
    const started = Date.now();
    svc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const refusedWhileStopping = await fetch(`${svc.url}/health/live`).then(
      () => false,
      () => true,
    );
    const exit = await svc.exited;
    return { ms: Date.now() - started, code: exit.code, refusedWhileStopping };
  }

  it('finishes the in-flight Alpaca callback before exiting 0; nothing is done twice after restart', async () => {
    const dataDir = tempDir('issuance-shutdown-');
    let svc = await h.spawn(dataDir, undefined, { SHUTDOWN_TIMEOUT_MS: '10000' });
    h.alpaca.behaviour.delayMs = 1_500;
    const trid = await mintUntilCallingBack(svc, 'graceful@ap.example');
    const stop = await terminate(svc);
    assert.equal(stop.code, 0, `clean exit expected: ${svc.stderr()}`);
    assert.ok(stop.refusedWhileStopping, 'no new connections once stopping');
    assert.ok(stop.ms >= 1_000 && stop.ms < 10_000, `waited for the callback, within the bound (${stop.ms} ms)`);
    assert.equal(h.alpaca.callbacksFor(trid).length, 1, 'the callback was delivered before exit');

    h.alpaca.behaviour.delayMs = 0;
    svc = await h.spawn(dataDir);
    try {
      const done = await h.waitForFlow(svc, `mint:${trid}`, 'completed', 5_000);
      const afterEvents = done.journal.map((e: any) => e.type);
      assert.equal(afterEvents.filter((t: string) => t === 'CALLBACK_ACCEPTED' || t === 'ALPACA_CALLBACK_ACCEPTED').length <= 1, true);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(h.alpaca.callbacksFor(trid).length, 1, 'no second callback after restart');
      assert.equal((await depositsByRequest(h.provider, h.chain.vault.vault)).get(trid), 1);
    } finally {
      await svc.kill('SIGTERM');
    }
  });

  it('gives up at the bound, exits 0, and the restarted service completes the flow idempotently', async () => {
    const dataDir = tempDir('issuance-shutdown-');
    let svc = await h.spawn(dataDir, undefined, { SHUTDOWN_TIMEOUT_MS: '300' });
    h.alpaca.behaviour.delayMs = 4_000;
    const trid = await mintUntilCallingBack(svc, 'bounded@ap.example');
    const stop = await terminate(svc);
    assert.equal(stop.code, 0, svc.stderr());
    assert.ok(stop.ms < 3_000, `the bound was kept (${stop.ms} ms)`);

    h.alpaca.behaviour.delayMs = 0;
    svc = await h.spawn(dataDir);
    try {
      const done = await h.waitForFlow(svc, `mint:${trid}`, 'completed', 20_000);
      assert.equal((await depositsByRequest(h.provider, h.chain.vault.vault)).get(trid), 1, 'one deposit');
      const hashes = new Set(h.alpaca.callbacksFor(trid).map((c) => c.body.tx_hash));
      assert.deepEqual([...hashes], [done.flow.snapshot.context.txHash], 'every delivery names the one mint transaction');
    } finally {
      await svc.kill('SIGTERM');
    }
  });
});
