import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readReceiptBalance, readShareBalance } from '../../chain/vault';
import { depositsByRequest } from '../support/chain-evidence';
import { count } from '../support/fixtures';
import { type MintEnv, startMintEnv, waitForState } from '../support/mint-env';

describe('mint flow end to end (devnet, vault, fake Alpaca over HTTP)', function () {
  this.timeout(60_000);
  let env: MintEnv;
  let clientId: string;

  before(async () => {
    env = await startMintEnv();
    clientId = env.apId;
  });
  after(() => env?.close());

  const mintBody = (over: Record<string, unknown> = {}) => ({
    tokenization_request_id: crypto.randomUUID(),
    qty: '12.5',
    underlying_symbol: 'AAPL',
    token_symbol: 'tAAPL',
    network: 'base',
    wallet_address: env.apWallet,
    client_external_account_id: clientId,
    ...over,
  });

  it('mints: request → confirm → one deposit on chain → callback with the tx hash → completed view row', async () => {
    const body = mintBody();
    const before = await readShareBalance(env.provider, env.chain.vault.vault, env.apWallet);
    const accepted = await env.alpaca.requestMint(body);
    assert.equal(accepted.status, 200);
    assert.equal(accepted.body.status, 'created');
    assert.match(accepted.body.issuer_request_id, /^[0-9a-f-]{36}$/);
    const confirmed = await env.alpaca.confirmMint(body.tokenization_request_id, accepted.body.issuer_request_id, 'completed');
    assert.equal(confirmed.status, 200);

    const flowId = `mint:${body.tokenization_request_id}`;
    assert.equal(await waitForState(env.svc, flowId, ['completed']), 'completed');

    const view = await env.svc.db('mint_view').where({ tokenization_request_id: body.tokenization_request_id }).first();
    assert.equal(view.state, 'completed');
    assert.match(view.tx_hash, /^0x[0-9a-f]{64}$/);
    assert.ok(view.receipt_id);
    const amount = 12_500_000_000_000_000_000n;
    assert.equal((await readShareBalance(env.provider, env.chain.vault.vault, env.apWallet)) - before, amount);
    assert.equal(await readReceiptBalance(env.provider, env.chain.vault.receipt, env.chain.issuerAddress, BigInt(view.receipt_id)), amount);
    const inventory = await env.svc.db('receipt_inventory').where({ receipt_id: view.receipt_id }).first();
    assert.equal(inventory.shares_remaining, amount.toString());

    const callbacks = env.alpaca.callbacksFor(body.tokenization_request_id);
    assert.equal(callbacks.length, 1);
    assert.equal(callbacks[0]!.body.tx_hash, view.tx_hash);
    assert.equal(callbacks[0]!.body.client_external_account_id, clientId);
    assert.equal((await depositsByRequest(env.provider, env.chain.vault.vault)).get(body.tokenization_request_id), 1);
  });

  it('answers a confirm delivered three times with three identical 200s and mints once', async () => {
    const body = mintBody({ qty: '1' });
    const accepted = await env.alpaca.requestMint(body);
    const answers = await Promise.all([1, 2, 3].map(() => env.alpaca.confirmMint(body.tokenization_request_id, accepted.body.issuer_request_id, 'completed')));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200]);
    assert.deepEqual(answers[1]!.body, answers[0]!.body);
    assert.deepEqual(answers[2]!.body, answers[0]!.body);
    await waitForState(env.svc, `mint:${body.tokenization_request_id}`, ['completed']);
    const late = await env.alpaca.confirmMint(body.tokenization_request_id, accepted.body.issuer_request_id, 'completed');
    assert.deepEqual([late.status, late.body], [200, answers[0]!.body]);
    assert.equal((await depositsByRequest(env.provider, env.chain.vault.vault)).get(body.tokenization_request_id), 1);
    assert.equal(env.alpaca.callbacksFor(body.tokenization_request_id).length, 1);
    const reject = await env.alpaca.confirmMint(body.tokenization_request_id, accepted.body.issuer_request_id, 'rejected');
    assert.deepEqual([reject.status, reject.body.code], [409, 'journal_already_recorded']);
  });

  it('returns the original answer to a repeated request and refuses the same id with another body', async () => {
    const body = mintBody();
    const first = await env.alpaca.requestMint(body);
    const again = await env.alpaca.requestMint(body);
    assert.deepEqual(again.body, first.body);
    const flows = await count(env.svc.db, 'flows', { flow_id: `mint:${body.tokenization_request_id}` });
    assert.equal(flows, 1);
    const other = await env.alpaca.requestMint({ ...body, qty: '13' });
    assert.deepEqual([other.status, other.body.code], [409, 'tokenization_request_id_reused']);
  });

  it('on a rejected journal mints nothing and ends final', async () => {
    const body = mintBody();
    const accepted = await env.alpaca.requestMint(body);
    const res = await env.alpaca.confirmMint(body.tokenization_request_id, accepted.body.issuer_request_id, 'rejected');
    assert.equal(res.status, 200);
    const flow = await env.svc.host.require(`mint:${body.tokenization_request_id}`);
    assert.deepEqual([flow.state, flow.status], ['journalRejected', 'done']);
    assert.equal(await count(env.svc.db, 'outbox', { flow_id: flow.flowId }), 0);
    assert.equal((await depositsByRequest(env.provider, env.chain.vault.vault)).get(body.tokenization_request_id), undefined);
  });

  it('retries a failing callback, parks the flow for an operator, and an operator retry completes it without a second mint', async () => {
    env.alpaca.behaviour.failNext('mint-callback', 3, 503);
    const body = mintBody({ qty: '2' });
    const accepted = await env.alpaca.requestMint(body);
    await env.alpaca.confirmMint(body.tokenization_request_id, accepted.body.issuer_request_id, 'completed');
    const flowId = `mint:${body.tokenization_request_id}`;
    await waitForState(env.svc, flowId, ['callbackFailed']);
    const flow = await env.svc.host.require(flowId);
    assert.equal(flow.needsOperator, true);
    const listed = await env.operator('GET', '/operator/flows?needs_operator=true');
    assert.ok(listed.body.flows.some((f: any) => f.flow_id === flowId));
    const retry = await env.operator('POST', `/operator/flows/${encodeURIComponent(flowId)}/events`, { type: 'OPERATOR_RETRY_CALLBACK' });
    assert.equal(retry.status, 200);
    await waitForState(env.svc, flowId, ['completed']);
    assert.equal((await depositsByRequest(env.provider, env.chain.vault.vault)).get(body.tokenization_request_id), 1);
  });

  it('puts a request whose confirmation never arrives in an operator state, and still honours a late confirm', async () => {
    const body = mintBody({ qty: '0.000000001' });
    const accepted = await env.alpaca.requestMint(body);
    const flowId = `mint:${body.tokenization_request_id}`;
    env.clock.advance(60_001);
    await waitForState(env.svc, flowId, ['journalOverdue']);
    await env.alpaca.confirmMint(body.tokenization_request_id, accepted.body.issuer_request_id, 'completed');
    await waitForState(env.svc, flowId, ['completed']);
    assert.equal((await depositsByRequest(env.provider, env.chain.vault.vault)).get(body.tokenization_request_id), 1);
  });

  it('refuses bad input on both endpoints with 4xx and stable codes, writing nothing', async () => {
    const other = await env.svc.accounts.register({ email: 'other@ap.example', wallets: [{ network: 'base', address: '0x' + '42'.repeat(20) }] });
    await env.alpaca.connect('other@ap.example', 'ALPACA-ACC-2');
    const bad: Array<[string, Record<string, unknown>, string]> = [
      ['unknown client', { client_external_account_id: 'nobody' }, 'client_not_eligible'],
      ['wallet of another client', { wallet_address: '0x' + '42'.repeat(20) }, 'wallet_not_registered'],
      ['token not on that network', { network: 'ethereum' }, 'token_not_available'],
      ['unsupported network', { network: 'solana' }, 'token_not_available'],
      ['unknown network', { network: 'plasma' }, 'token_not_available'],
      ['wrong underlying', { underlying_symbol: 'TSLA' }, 'token_not_available'],
      ['qty 0', { qty: '0' }, 'invalid_payload'],
      ['qty -1', { qty: '-1' }, 'invalid_payload'],
      ['qty 1e3', { qty: '1e3' }, 'invalid_payload'],
      ['qty leading space', { qty: ' 1' }, 'invalid_payload'],
      ['qty 10 dp', { qty: '1.0000000001' }, 'invalid_payload'],
      ['qty number', { qty: 1 }, 'invalid_payload'],
      ['malformed wallet', { wallet_address: '0x1234' }, 'invalid_wallet_address'],
      ['two client ids', { client_account_id: 'x' }, 'invalid_payload'],
    ];
    const before = await count(env.svc.db, 'journal');
    for (const [name, over, code] of bad) {
      const res = await env.alpaca.requestMint(mintBody(over));
      assert.equal(res.status, 400, name);
      assert.equal(res.body.code, code, name);
    }
    const wrongClientWallet = await env.alpaca.requestMint(mintBody({ client_external_account_id: other.apId }));
    assert.deepEqual([wrongClientWallet.status, wrongClientWallet.body.code, wrongClientWallet.body.message], [400, 'wallet_not_registered', 'Invalid Wallet: Wallet does not belong to client']);

    await env.operator('POST', `/operator/assets/${env.assetId}/halt`, { reason: 'corporate action' });
    const halted = await env.alpaca.requestMint(mintBody());
    assert.deepEqual([halted.status, halted.body.code], [400, 'asset_halted']);
    await env.operator('POST', `/operator/assets/${env.assetId}/resume`);
    const afterRegistry = await count(env.svc.db, 'journal');
    assert.equal(afterRegistry, before + 2, 'only the halt and resume were journaled');

    const unknown = await env.alpaca.confirmMint(crypto.randomUUID(), crypto.randomUUID(), 'completed');
    assert.deepEqual([unknown.status, unknown.body.code], [404, 'tokenization_request_not_found']);
    const body = mintBody();
    const accepted = await env.alpaca.requestMint(body);
    const mismatch = await env.alpaca.confirmMint(body.tokenization_request_id, crypto.randomUUID(), 'completed');
    assert.deepEqual([mismatch.status, mismatch.body.code], [422, 'issuer_request_id_mismatch']);
    const badStatus = await env.alpaca.confirmMint(body.tokenization_request_id, accepted.body.issuer_request_id, 'done' as any);
    assert.deepEqual([badStatus.status, badStatus.body.code], [400, 'invalid_payload']);
    assert.equal((await env.svc.host.require(`mint:${body.tokenization_request_id}`)).seq, 1, 'no confirm was recorded');
  });

  it('serves the seeds\' paths and legacy field names on the same handlers', async () => {
    const trid = crypto.randomUUID();
    const created = await env.alpaca.requestMint({ id: trid, qty: '3', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_id: clientId }, true);
    assert.equal(created.status, 200);
    const repeat = await env.alpaca.requestMint(mintBody({ tokenization_request_id: trid, qty: '3' }));
    assert.deepEqual(repeat.body, created.body, 'the same request under current names is the same request');
    const confirm = await env.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed', {}, true);
    assert.equal(confirm.status, 200);
    await waitForState(env.svc, `mint:${trid}`, ['completed']);
    assert.equal(env.alpaca.callbacksFor(trid)[0]!.body.client_external_account_id, clientId);
  });

  it('calls Alpaca back with OAuth2 client credentials when configured (token fetched once, reused)', async () => {
    const creds = env.config.alpaca!;
    await env.restart();
    env.config.alpaca = { ...creds, oauth: { authUrl: env.alpaca.url, clientId: creds.keyId!, clientSecret: creds.secret! } };
    try {
      await env.restart();
      const before = env.alpaca.tokenRequests;
      for (const qty of ['1', '2']) {
        const body = mintBody({ qty });
        const created = await env.alpaca.requestMint(body);
        await env.alpaca.confirmMint(body.tokenization_request_id, created.body.issuer_request_id, 'completed');
        await waitForState(env.svc, `mint:${body.tokenization_request_id}`, ['completed']);
      }
      assert.equal(env.alpaca.tokenRequests - before, 1, 'one token served both callbacks');
    } finally {
      env.config.alpaca = creds;
      await env.restart();
    }
  });
});
