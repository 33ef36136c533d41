import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { confirmedMint, EVM_WALLET, type Rig, startRig, txHash } from './helpers';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('fake Alpaca', function () {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig?.close());

  const basic = () => `Basic ${Buffer.from(`${rig.credentials.keyId}:${rig.credentials.secret}`).toString('base64')}`;
  const raw = (path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) =>
    fetch(`${rig.fake.url}/v1/accounts/${rig.fake.accountId}/tokenization${path}`, {
      method: init.method ?? 'POST',
      headers: { authorization: basic(), 'content-type': 'application/json', ...init.headers },
      body: init.body,
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));

  describe('driver (Alpaca → issuer over HTTP with X-API-KEY)', () => {
    it('sends a mint request with a fresh UUID v4 when none is given, and the confirm echoes the client id', async () => {
      const requested = await rig.fake.requestMint({ qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: EVM_WALLET, client_external_account_id: 'EXT-9', client_request_id: 'ap-label' });
      assert.equal(requested.status, 200);
      assert.match(requested.tokenization_request_id, UUID_V4);
      const [mint] = rig.issuer.received;
      assert.equal(mint!.path, '/tokenization/mint');
      assert.equal(mint!.body.tokenization_request_id, requested.tokenization_request_id);
      assert.equal(mint!.headers['x-api-key'] !== undefined, true);

      const confirmed = await rig.fake.confirmMint(requested.tokenization_request_id, requested.body.issuer_request_id, 'completed');
      assert.equal(confirmed.status, 200);
      const confirm = rig.issuer.received[1]!;
      assert.equal(confirm.path, '/tokenization/mint/confirm');
      assert.deepEqual(confirm.body, { tokenization_request_id: requested.tokenization_request_id, issuer_request_id: requested.body.issuer_request_id, status: 'completed', client_external_account_id: 'EXT-9' }, 'client_request_id only on the affiliated flow');
    });

    it('echoes client_account_id and client_request_id on the affiliated flow', async () => {
      const account = crypto.randomUUID();
      const requested = await rig.fake.requestMint({ qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: EVM_WALLET, client_account_id: account, client_request_id: 'ap-label' });
      await rig.fake.confirmMint(requested.tokenization_request_id, requested.body.issuer_request_id, 'completed');
      const confirm = rig.issuer.received.at(-1)!;
      assert.equal(confirm.body.client_account_id, account);
      assert.equal(confirm.body.client_request_id, 'ap-label');
      assert.equal(confirm.body.client_external_account_id, undefined);
    });

    it('uses the seeds\' paths and legacy names when asked, and the callback then expects client_external_account_id', async () => {
      const trid = crypto.randomUUID();
      const linked = await rig.fake.connect('ap@example.com', 'ACC-1', true);
      assert.deepEqual(rig.issuer.received[0]!.body, { email: 'ap@example.com', account: 'ACC-1' });
      assert.equal(rig.issuer.received[0]!.path, '/accounts/connect');
      const requested = await rig.fake.requestMint({ id: trid, qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: EVM_WALLET, client_id: linked.body.client_id }, true);
      assert.equal(requested.tokenization_request_id, trid);
      assert.equal(rig.issuer.received[1]!.path, '/inkind/issuance');
      assert.equal(rig.issuer.received[1]!.body.tokenization_request_id, undefined);
      await rig.fake.confirmMint(trid, requested.body.issuer_request_id, 'completed', {}, true);
      assert.equal(rig.issuer.received[2]!.path, '/inkind/issuance/confirm');
      assert.equal(rig.issuer.received[2]!.body.client_id, 'EXT-ACC-1');
      const done = await rig.client.mintCallback({ tokenization_request_id: trid, tx_hash: txHash(), wallet_address: EVM_WALLET, network: 'base', client_external_account_id: 'EXT-ACC-1' });
      assert.equal(done.client_external_account_id, 'EXT-ACC-1');
    });

    it('links accounts and lists tokens on the current paths', async () => {
      const linked = await rig.fake.connect('ap@example.com', 'ACC-2');
      assert.deepEqual([linked.status, linked.body], [200, { client_external_account_id: 'EXT-ACC-2' }]);
      assert.deepEqual(rig.issuer.received[0]!.body, { email: 'ap@example.com', client_account_number: 'ACC-2' });
      const tokens = await rig.fake.listTokens();
      assert.equal(rig.issuer.received[1]!.method, 'GET');
      assert.equal(tokens.body.tokens[0].token, 'tAAPL');
    });

    it('expects the callback when the confirm answer is lost (5xx) but not when the issuer refused it (4xx)', async () => {
      const base = { qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: EVM_WALLET, client_external_account_id: 'EXT-1' };
      const lost = await rig.fake.requestMint(base);
      rig.issuer.confirmStatus = 503;
      await rig.fake.confirmMint(lost.tokenization_request_id, lost.body.issuer_request_id, 'completed');
      const refused = await rig.fake.requestMint(base);
      rig.issuer.confirmStatus = 422;
      await rig.fake.confirmMint(refused.tokenization_request_id, refused.body.issuer_request_id, 'completed');
      const callback = (id: string) => rig.client.mintCallback({ tokenization_request_id: id, tx_hash: txHash(), wallet_address: EVM_WALLET, network: 'base', client_external_account_id: 'EXT-1' });
      assert.equal((await callback(lost.tokenization_request_id)).status, 'completed');
      await assert.rejects(callback(refused.tokenization_request_id), (err: any) => err.status === 422);
    });
  });

  describe('waitForCallback', () => {
    it('resolves for a callback that arrives later, ignoring refused ones', async () => {
      const { tokenizationRequestId } = await confirmedMint(rig.fake);
      const waiting = rig.fake.waitForCallback(tokenizationRequestId, 2_000);
      rig.fake.behaviour.failNext('mint-callback', 1);
      const body = { tokenization_request_id: tokenizationRequestId, tx_hash: txHash(), wallet_address: EVM_WALLET, network: 'base', client_external_account_id: 'EXT-1' };
      await rig.client.mintCallback(body).catch(() => undefined);
      setTimeout(() => void rig.client.mintCallback(body), 50);
      const seen = await waiting;
      assert.equal(seen.status, 200);
      assert.equal(seen.body.tx_hash, body.tx_hash);
      assert.equal(rig.fake.callbacksFor(tokenizationRequestId).length, 2);
    });

    it('rejects after the timeout with a clear message', async () => {
      const id = crypto.randomUUID();
      await assert.rejects(rig.fake.waitForCallback(id, 50), new RegExp(`no accepted mint callback for ${id} within 50 ms`));
    });
  });

  describe('documented validation and errors', () => {
    it('422s a callback without tx_hash, with Alpaca\'s code and message shape', async () => {
      const { tokenizationRequestId } = await confirmedMint(rig.fake);
      const res = await raw('/callback/mint', { body: JSON.stringify({ tokenization_request_id: tokenizationRequestId }) });
      assert.deepEqual(res, { status: 422, body: { code: 42210001, message: 'tx_hash is required' } });
      const both = await raw('/callback/mint', { body: JSON.stringify({}) });
      assert.equal(both.body.message, 'tokenization_request_id is required, tx_hash is required');
    });

    it('422s the sunset client_id alias', async () => {
      const { tokenizationRequestId } = await confirmedMint(rig.fake);
      const res = await raw('/callback/mint', { body: JSON.stringify({ tokenization_request_id: tokenizationRequestId, tx_hash: txHash(), client_id: 'EXT-1' }) });
      assert.equal(res.status, 422);
      assert.match(res.body.message, /client_id/);
    });

    it('400s a body that is not JSON, and 400s a malformed Idempotency-Key', async () => {
      assert.deepEqual(await raw('/callback/mint', { body: '{nope' }), { status: 400, body: { code: 40010000, message: 'failed to decode request body' } });
      const res = await raw('/callback/redeem', { body: '{}', headers: { 'idempotency-key': 'k'.repeat(129) } });
      assert.deepEqual([res.status, res.body.code], [400, 40010000]);
    });

    it('400s a redeem qty with more than 9 decimals and 422s a redeem without a client id', async () => {
      const body = { issuer_request_id: 'r1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', qty: '1.0000000001', network: 'base', wallet_address: EVM_WALLET, tx_hash: txHash(), client_external_account_id: 'EXT-1' };
      assert.equal((await raw('/callback/redeem', { body: JSON.stringify(body) })).status, 400);
      const { client_external_account_id: _omit, ...noClient } = body;
      assert.equal((await raw('/callback/redeem', { body: JSON.stringify({ ...noClient, qty: '1' }) })).status, 422);
      assert.equal(rig.fake.redeemRequests().length, 0);
    });

    it('422s a lookup by issuer request id without the parameter, 404s unknown routes with JSON, 401s a missing Authorization', async () => {
      assert.deepEqual(await raw('/requests:by_issuer_request_id', { method: 'GET' }), { status: 422, body: { code: 42210001, message: 'issuer_request_id is required' } });
      assert.equal((await raw('/nothing-here', { method: 'GET' })).body.code, 40410000);
      assert.deepEqual(await raw('/requests', { method: 'GET', headers: { authorization: '' } }), { status: 401, body: { code: 40110000, message: 'unauthorized' } });
    });

    it('token endpoint: client_secret_post only, wrong secret → 401 invalid_client', async () => {
      const post = (body: string, headers: Record<string, string> = {}) =>
        fetch(`${rig.fake.url}/v1/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
      const ok = await post(new URLSearchParams({ grant_type: 'client_credentials', client_id: rig.credentials.keyId, client_secret: rig.credentials.secret }).toString());
      assert.equal(ok.status, 200);
      assert.equal(ok.body.expires_in, 899);
      assert.equal(ok.body.token_type, 'Bearer');
      const wrong = await post(new URLSearchParams({ grant_type: 'client_credentials', client_id: rig.credentials.keyId, client_secret: 'nope' }).toString());
      assert.deepEqual([wrong.status, wrong.body.error], [401, 'invalid_client']);
      const basicOnly = await post('grant_type=client_credentials', { authorization: basic() });
      assert.equal(basicOnly.status, 401);
      assert.equal(rig.fake.tokenRequests, 3);
      const bearer = await raw('/requests', { method: 'GET', headers: { authorization: `Bearer ${ok.body.access_token}` } });
      assert.equal(bearer.status, 200);
    });
  });

  it('control surface: /_fake/mints plays request + confirm, /_fake/callbacks shows what arrived', async () => {
    const res = await fetch(`${rig.fake.url}/_fake/mints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ qty: '2', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: EVM_WALLET, client_external_account_id: 'EXT-1' }),
    });
    const driven = (await res.json()) as any;
    assert.deepEqual([driven.request.status, driven.confirm.status], [200, 200]);
    assert.match(driven.tokenization_request_id, UUID_V4);
    assert.deepEqual(rig.issuer.received.map((r) => r.path), ['/tokenization/mint', '/tokenization/mint/confirm']);
    assert.equal(rig.issuer.received[1]!.body.status, 'completed');
    await rig.client.mintCallback({ tokenization_request_id: driven.tokenization_request_id, tx_hash: txHash(), wallet_address: EVM_WALLET, network: 'base', client_external_account_id: 'EXT-1' });
    const seen = (await (await fetch(`${rig.fake.url}/_fake/callbacks?tokenization_request_id=${driven.tokenization_request_id}`)).json()) as any;
    assert.equal(seen.callbacks.length, 1);
    assert.equal(seen.callbacks[0].status, 200);
  });

  it('delays answers by delayMs', async () => {
    rig.fake.behaviour.delayMs = 150;
    const started = Date.now();
    await rig.client.getRequest(crypto.randomUUID());
    assert.ok(Date.now() - started >= 140);
  });
});
