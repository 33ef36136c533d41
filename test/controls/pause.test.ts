import { redemptionFlowId } from '../../core/flow-ids';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readJson } from '../../persistence/database';
import type { IssuanceService } from '../../server/issuance-service';
import { depositsByRequest } from '../support/chain-evidence';
import { count } from '../support/fixtures';
import { type MintEnv, startMintEnv, waitForState } from '../support/mint-env';
import { burnsFor, detect, mintThroughFlow, sendToRedemptionWallet, units } from '../support/redemption-helpers';
import { asOperator, newOperators, writes } from './helpers';

type Env = MintEnv & { svc: IssuanceService };

/** The emergency pause, end to end: devnet, vault, poller, fake Alpaca over HTTP, named operators. */
describe('risk controls: emergency pause', function () {
  this.timeout(60_000);
  const ops = newOperators();
  let env: Env;

  before(async () => {
    env = (await startMintEnv({ poller: { pollMs: 60_000 } }, { config: { operators: new Map(Object.entries(ops)) } })) as Env; // the tests tick the poller
    await env.svc.poller.tick(); // first sight: the cursor starts at the current safe head
  });
  afterEach(async () => {
    await asOperator(env.svc.url, ops.bob, 'POST', '/operator/controls/resume', {});
  });
  after(() => env?.close());

  const as = (who: 'alice' | 'bob') => (method: string, path: string, body?: unknown) => asOperator(env.svc.url, ops[who], method, path, body);
  const pause = (who: 'alice' | 'bob', reason: string) => as(who)('POST', '/operator/controls/pause', { reason });
  const resume = (who: 'alice' | 'bob', note?: string) => as(who)('POST', '/operator/controls/resume', note === undefined ? undefined : { note });
  const mintRequest = (trid = crypto.randomUUID(), qty = '3') => ({ tokenization_request_id: trid, qty, underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
  const deposits = async (trid: string) => (await depositsByRequest(env.provider, env.chain.vault.vault)).get(trid) ?? 0;
  /** Lets the outbox runner (polling every 20 ms) have many looks at the outbox. */
  const runnerWorks = () => new Promise((r) => setTimeout(r, 500));

  it('refuses new mint requests with issuance_paused, writing nothing; a repeat of an accepted request still answers', async () => {
    const earlier = mintRequest();
    const accepted = await env.alpaca.requestMint(earlier);
    assert.equal(accepted.status, 200);

    const paused = await pause('alice', 'signer key rotation');
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.deepEqual([paused.body.changed, paused.body.issuance.paused, paused.body.issuance.pause_reason, paused.body.issuance.changed_by], [true, true, 'signer key rotation', 'alice']);

    const before = await writes(env.svc.db);
    const refused = await env.alpaca.requestMint(mintRequest());
    assert.deepEqual([refused.status, refused.body.code], [400, 'issuance_paused']);
    assert.match(refused.body.message, /^Issuance Paused: /);
    assert.doesNotMatch(refused.body.message, /rotation/, 'the internal reason is not told to Alpaca');
    const seeds = await env.alpaca.requestMint(mintRequest(), true);
    assert.deepEqual([seeds.status, seeds.body.code], [400, 'issuance_paused']);
    assert.deepEqual(await writes(env.svc.db), before, 'nothing written');

    const repeat = await env.alpaca.requestMint(earlier);
    assert.deepEqual([repeat.status, repeat.body], [200, accepted.body], 'a repeat is not a new request');

    const again = await pause('bob', 'second press');
    assert.deepEqual([again.body.changed, again.body.issuance.changed_by, again.body.issuance.pause_reason], [false, 'alice', 'signer key rotation'], 'pausing a paused issuer changes nothing');
    const resumed = await resume('bob', 'rotation done');
    assert.deepEqual([resumed.body.changed, resumed.body.issuance.paused, resumed.body.issuance.changed_by], [true, false, 'bob']);
    assert.equal((await env.alpaca.requestMint(mintRequest())).status, 200);

    const events = (await env.svc.db('journal').where({ flow_id: 'controls:global' }).orderBy('seq')).map((r: any) => ({ type: r.type, ...readJson<object>(r.payload) }));
    assert.deepEqual(events.slice(-2), [
      { type: 'controls.paused', reason: 'signer key rotation', operator: 'alice' },
      { type: 'controls.resumed', operator: 'bob', note: 'rotation done' },
    ]);
  });

  it('signs nothing for a mint confirmed while paused, and mints it exactly once after resume', async () => {
    const body = mintRequest(undefined, '4');
    const flowId = `mint:${body.tokenization_request_id}`;
    const accepted = await env.alpaca.requestMint(body);
    assert.equal((await pause('alice', 'incident 42')).status, 200);
    // Alpaca's confirm is still honoured: the shares are ours, the mint waits.
    assert.equal((await env.alpaca.confirmMint(body.tokenization_request_id, accepted.body.issuer_request_id, 'completed')).status, 200);
    await runnerWorks();
    assert.equal((await env.svc.host.require(flowId)).state, 'minting.submitting');
    const effect = await env.svc.db('outbox').where({ flow_id: flowId, type: 'submitMintTransaction' }).first();
    assert.deepEqual([effect.status, Number(effect.attempts)], ['pending', 0], 'the effect waits without spending attempts');
    assert.equal(await count(env.svc.db, 'chain_transactions', { flow_id: flowId }), 0, 'nothing signed');
    assert.equal(await deposits(body.tokenization_request_id), 0);
    const shown = await as('bob')('GET', '/operator/controls');
    assert.deepEqual([shown.body.issuance.paused, shown.body.issuance.pause_reason, shown.body.issuance.changed_by], [true, 'incident 42', 'alice']);

    assert.equal((await resume('bob')).body.changed, true);
    await waitForState(env.svc, flowId, ['completed']);
    assert.equal(await deposits(body.tokenization_request_id), 1, 'exactly one deposit');
    assert.equal(env.alpaca.callbacksFor(body.tokenization_request_id).length, 1);
  });

  it('keeps detecting redemptions and calling Alpaca while paused, and burns only after resume', async () => {
    await mintThroughFlow(env, '5');
    assert.equal((await pause('alice', 'vault audit')).status, 200);
    const t = await sendToRedemptionWallet(env, units('2'));
    const receipt = await env.provider.getTransactionReceipt(t.txHash);
    const flowId = redemptionFlowId('base', t.txHash, receipt!.logs[0]!.index);
    await detect(env, flowId);
    await waitForState(env.svc, flowId, ['burning.submitting']);
    assert.equal(env.alpaca.redeems.filter((r) => r.body.tx_hash === t.txHash).length, 1, 'Alpaca was asked while paused');
    await runnerWorks();
    assert.equal((await env.svc.host.require(flowId)).state, 'burning.submitting');
    assert.equal(await count(env.svc.db, 'chain_transactions', { flow_id: flowId }), 0, 'no burn signed');
    assert.equal(await burnsFor(env, t.txHash), 0);

    await resume('bob');
    await waitForState(env.svc, flowId, ['completed']);
    assert.equal(await burnsFor(env, t.txHash), 1, 'exactly one burn');
  });
});
