import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { BasicAuth } from '../../alpaca/auth';
import { AlpacaClient } from '../../alpaca/client';
import { alpacaError, confirmedMint, EVM_WALLET, listen, type Listening, redeemBody, type Rig, startRig, txHash } from './helpers';

describe('AlpacaClient ↔ fake Alpaca (real HTTP)', function () {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig?.close());

  describe('mint callback', () => {
    it('succeeds for a confirmed mint: returns the completed request and sends only the documented fields', async () => {
      const { tokenizationRequestId, issuerRequestId } = await confirmedMint(rig.fake);
      const hash = txHash();
      const started = Date.now();
      const result = await rig.client.mintCallback(
        { tokenization_request_id: tokenizationRequestId, tx_hash: hash, wallet_address: EVM_WALLET, network: 'base', client_external_account_id: 'EXT-1', client_id: 'EXT-1' } as any,
        { idempotencyKey: 'effect-01' },
      );
      assert.equal(result.tokenization_request_id, tokenizationRequestId);
      assert.equal(result.issuer_request_id, issuerRequestId);
      assert.equal(result.status, 'completed');
      assert.equal(result.type, 'mint');
      assert.equal(result.tx_hash, hash);

      const seen = await rig.fake.waitForCallback(tokenizationRequestId, 1_000);
      assert.ok(seen.at >= started);
      assert.deepEqual(Object.keys(seen.body).sort(), ['client_external_account_id', 'network', 'tokenization_request_id', 'tx_hash', 'wallet_address'], 'no client_id alias');
      assert.equal(seen.idempotencyKey, 'effect-01');
      assert.equal(rig.fake.request(tokenizationRequestId)?.tx_hash, hash);
    });

    it('answers a repeated callback 200 again and counts both; a different tx_hash for the same request is refused', async () => {
      const { tokenizationRequestId } = await confirmedMint(rig.fake);
      const body = { tokenization_request_id: tokenizationRequestId, tx_hash: txHash(), wallet_address: EVM_WALLET.toUpperCase().replace('0X', '0x'), network: 'base', client_external_account_id: 'EXT-1' };
      const first = await rig.client.mintCallback(body);
      const second = await rig.client.mintCallback(body);
      assert.equal(second.tx_hash, first.tx_hash);
      assert.equal(rig.fake.callbacksFor(tokenizationRequestId).length, 2);

      const other = await alpacaError(rig.client.mintCallback({ ...body, tx_hash: txHash() }));
      assert.deepEqual([other.status, other.alpacaCode, other.retryable], [422, 42210001, false]);
      assert.equal(rig.fake.callbacksFor(tokenizationRequestId).length, 3);
      assert.deepEqual(rig.fake.callbacksFor(tokenizationRequestId).map((c) => c.status), [200, 200, 422]);
    });

    it('gets a non-retryable 422 for a mint that was not confirmed completed, or with the wrong client id', async () => {
      const requested = await rig.fake.requestMint({ qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: EVM_WALLET, client_external_account_id: 'EXT-1' });
      const body = { tokenization_request_id: requested.tokenization_request_id, tx_hash: txHash(), wallet_address: EVM_WALLET, network: 'base', client_external_account_id: 'EXT-1' };
      const unconfirmed = await alpacaError(rig.client.mintCallback(body));
      assert.deepEqual([unconfirmed.status, unconfirmed.alpacaCode, unconfirmed.retryable, unconfirmed.kind], [422, 42210001, false, 'http']);

      await rig.fake.confirmMint(requested.tokenization_request_id, requested.body.issuer_request_id, 'rejected');
      assert.equal((await alpacaError(rig.client.mintCallback(body))).status, 422);

      const { tokenizationRequestId } = await confirmedMint(rig.fake);
      const wrongClient = await alpacaError(rig.client.mintCallback({ ...body, tokenization_request_id: tokenizationRequestId, client_external_account_id: 'EXT-2' }));
      assert.equal(wrongClient.status, 422);
      assert.match(wrongClient.message, /client id/);
      const unknown = await alpacaError(rig.client.mintCallback({ ...body, tokenization_request_id: crypto.randomUUID() }));
      assert.equal(unknown.status, 422);
    });

    it('gets a non-retryable 401 with bad credentials, and the message carries no credential', async () => {
      const { tokenizationRequestId } = await confirmedMint(rig.fake);
      const wrongSecret = `wrong-${crypto.randomBytes(8).toString('hex')}`;
      const client = rig.clientWith({ auth: new BasicAuth(rig.credentials.keyId, wrongSecret) });
      const err = await alpacaError(client.mintCallback({ tokenization_request_id: tokenizationRequestId, tx_hash: txHash(), wallet_address: EVM_WALLET, network: 'base', client_external_account_id: 'EXT-1' }));
      assert.deepEqual([err.status, err.alpacaCode, err.retryable, err.kind], [401, 40110000, false, 'http']);
      const everything = `${err.message} ${err.stack} ${JSON.stringify(err)}`;
      for (const secret of [wrongSecret, rig.credentials.secret, Buffer.from(`${rig.credentials.keyId}:${wrongSecret}`).toString('base64')]) assert.ok(!everything.includes(secret));
      assert.deepEqual(rig.fake.callbacksFor(tokenizationRequestId).map((c) => c.status), [401]);
      assert.equal(rig.fake.request(tokenizationRequestId)?.tx_hash, null, 'nothing recorded');
    });

    it('gets a non-retryable 403 for another account id', async () => {
      const err = await alpacaError(rig.clientWith({ accountId: crypto.randomUUID() }).getRequest(crypto.randomUUID()));
      assert.deepEqual([err.status, err.alpacaCode, err.retryable], [403, 40310000, false]);
    });

    it('gets retryable 503s from failNext, then succeeds once they are used up', async () => {
      const { tokenizationRequestId } = await confirmedMint(rig.fake);
      const body = { tokenization_request_id: tokenizationRequestId, tx_hash: txHash(), wallet_address: EVM_WALLET, network: 'base', client_external_account_id: 'EXT-1' };
      rig.fake.behaviour.failNext('mint-callback', 2);
      for (let i = 0; i < 2; i++) {
        const err = await alpacaError(rig.client.mintCallback(body));
        assert.deepEqual([err.status, err.alpacaCode, err.retryable], [503, 50300000, true]);
      }
      assert.equal((await rig.client.mintCallback(body)).status, 'completed');
      assert.deepEqual(rig.fake.callbacksFor(tokenizationRequestId).map((c) => c.status), [503, 503, 200]);
    });

    it('classifies injected 429 and 408 as retryable and 400 as final', async () => {
      const id = crypto.randomUUID();
      rig.fake.behaviour.failNext('lookup', 1, 429);
      rig.fake.behaviour.failNext('lookup', 1, 408);
      rig.fake.behaviour.failNext('lookup', 1, 400);
      const got = [];
      for (let i = 0; i < 3; i++) {
        const err = await alpacaError(rig.client.getRequest(id));
        got.push([err.status, err.retryable]);
      }
      assert.deepEqual(got, [[429, true], [408, true], [400, false]]);
      assert.equal(await rig.client.getRequest(id), null);
    });

    it('times out (retryable) when Alpaca answers slower than timeoutMs; the slow request still takes effect at Alpaca', async () => {
      const { tokenizationRequestId } = await confirmedMint(rig.fake);
      rig.fake.behaviour.delayMs = 600;
      const client = rig.clientWith({ timeoutMs: 100 });
      const started = Date.now();
      const err = await alpacaError(client.mintCallback({ tokenization_request_id: tokenizationRequestId, tx_hash: txHash(), wallet_address: EVM_WALLET, network: 'base', client_external_account_id: 'EXT-1' }));
      const elapsed = Date.now() - started;
      assert.deepEqual([err.kind, err.status, err.retryable], ['timeout', 0, true]);
      assert.ok(elapsed < 500, `gave up after ${elapsed} ms`);
      // The answer was lost, not the request: that is why a callback must be safe to repeat.
      const seen = await rig.fake.waitForCallback(tokenizationRequestId, 2_000);
      assert.equal(seen.status, 200);
    });

    it('treats an unreachable Alpaca as a retryable network error', async () => {
      const closed = await listen(() => undefined);
      await closed.close();
      const client = new AlpacaClient({ baseUrl: closed.url, accountId: rig.fake.accountId, auth: new BasicAuth('k', 's3cr3t-value'), timeoutMs: 1_000 });
      const err = await alpacaError(client.getRequest(crypto.randomUUID()));
      assert.deepEqual([err.kind, err.status, err.retryable], ['network', 0, true]);
      assert.ok(!err.message.includes('s3cr3t-value'));
    });

    it('answers 503 to everything during an outage, and recovers after it', async () => {
      rig.fake.behaviour.outage(true);
      const err = await alpacaError(rig.client.getRequestByIssuerRequestId('anything'));
      assert.deepEqual([err.status, err.retryable], [503, true]);
      const bad = await alpacaError(rig.clientWith({ auth: new BasicAuth('nobody', 'nothing') }).getRequest(crypto.randomUUID()));
      assert.equal(bad.status, 503, 'an outage answers before auth');
      rig.fake.behaviour.outage(false);
      assert.equal(await rig.client.getRequestByIssuerRequestId('anything'), null);
    });

    it('refuses to send what Alpaca would refuse, without an HTTP call', async () => {
      const base = { tokenization_request_id: crypto.randomUUID(), tx_hash: txHash(), wallet_address: EVM_WALLET, network: 'base' };
      const both = await alpacaError(rig.client.mintCallback({ ...base, client_external_account_id: 'EXT-1', client_account_id: crypto.randomUUID() }));
      const neither = await alpacaError(rig.client.mintCallback(base));
      const noHash = await alpacaError(rig.client.mintCallback({ ...base, tx_hash: '', client_external_account_id: 'EXT-1' }));
      const badKey = await alpacaError(rig.client.redeem(redeemBody(), { idempotencyKey: 'has space' }));
      const longKey = await alpacaError(rig.client.redeem(redeemBody(), { idempotencyKey: 'k'.repeat(129) }));
      const tenDp = await alpacaError(rig.client.redeem(redeemBody({ qty: '1.0000000001' }), { idempotencyKey: crypto.randomUUID() }));
      for (const err of [both, neither, noHash, badKey, longKey, tenDp]) assert.deepEqual([err.kind, err.retryable], ['invalid_request', false], err.message);
      assert.equal(rig.fake.callbacks.length + rig.fake.redeems.length, 0);
    });
  });

  describe('redeem', () => {
    it('creates a pending redeem and replays it for the same Idempotency-Key and body', async () => {
      const body = redeemBody();
      const key = crypto.randomUUID();
      const first = await rig.client.redeem({ ...body, client_id: 'EXT-1', extra: 1 } as any, { idempotencyKey: key });
      assert.deepEqual(Object.keys(rig.fake.redeems[0]!.body).sort(), Object.keys(body).sort(), 'only the documented fields, no client_id alias');
      assert.equal(first.type, 'redeem');
      assert.equal(first.status, 'pending');
      assert.equal(first.issuer_request_id, body.issuer_request_id);
      assert.equal(first.qty, '2.000000001');
      const again = await rig.client.redeem({ ...body }, { idempotencyKey: key });
      assert.equal(again.tokenization_request_id, first.tokenization_request_id);
      assert.deepEqual(rig.fake.redeems.map((r) => [r.status, r.idempotencyKey, r.replayed ?? false]), [
        [200, key, false],
        [200, key, true],
      ]);
      assert.equal(rig.fake.redeemRequests().length, 1, 'one redeem at Alpaca');

      // The replay header, seen on the wire.
      const res = await fetch(`${rig.fake.url}/v1/accounts/${rig.fake.accountId}/tokenization/callback/redeem`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${rig.credentials.keyId}:${rig.credentials.secret}`).toString('base64')}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(Object.fromEntries(Object.entries(body).reverse())),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('idempotent-replayed'), 'true');
      assert.equal(((await res.json()) as any).tokenization_request_id, first.tokenization_request_id);
    });

    it('refuses the same key with another body (422) and a reused issuer_request_id under another key or none (422)', async () => {
      const body = redeemBody();
      const key = crypto.randomUUID();
      await rig.client.redeem(body, { idempotencyKey: key });
      const otherBody = await alpacaError(rig.client.redeem({ ...body, qty: '3' }, { idempotencyKey: key }));
      assert.deepEqual([otherBody.status, otherBody.alpacaCode, otherBody.retryable], [422, 42210001, false]);
      const otherKey = await alpacaError(rig.client.redeem(body, { idempotencyKey: crypto.randomUUID() }));
      assert.deepEqual([otherKey.status, otherKey.retryable], [422, false]);
      assert.match(otherKey.message, /issuer_request_id/);
      const noKey = await fetch(`${rig.fake.url}/v1/accounts/${rig.fake.accountId}/tokenization/callback/redeem`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${rig.credentials.keyId}:${rig.credentials.secret}`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(noKey.status, 422);
      assert.equal(rig.fake.redeemRequests().length, 1);
    });

    it('completes after the configured delay, and can be looked up by both ids', async () => {
      rig.fake.behaviour.redeemCompletesAfterMs = 150;
      const body = redeemBody();
      const created = await rig.client.redeem(body, { idempotencyKey: crypto.randomUUID() });
      assert.equal((await rig.client.getRequest(created.tokenization_request_id))?.status, 'pending');
      await new Promise((r) => setTimeout(r, 200));
      const byId = await rig.client.getRequest(created.tokenization_request_id);
      const byIssuer = await rig.client.getRequestByIssuerRequestId(body.issuer_request_id);
      assert.equal(byId?.status, 'completed');
      assert.equal(byIssuer?.tokenization_request_id, created.tokenization_request_id);
      assert.equal(byIssuer?.status, 'completed');
      assert.equal(byIssuer?.tx_hash, body.tx_hash);
    });

    it('reports a rejected redeem, and a replay of it gets a final 400', async () => {
      rig.fake.behaviour.redeemOutcome = 'rejected';
      const body = redeemBody();
      const key = crypto.randomUUID();
      const created = await rig.client.redeem(body, { idempotencyKey: key });
      assert.equal((await rig.client.getRequestByIssuerRequestId(body.issuer_request_id))?.status, 'rejected');
      const replay = await alpacaError(rig.client.redeem(body, { idempotencyKey: key }));
      assert.deepEqual([replay.status, replay.alpacaCode, replay.retryable], [400, 40010000, false]);
      assert.equal(rig.fake.request(created.tokenization_request_id)?.status, 'rejected');
    });

    it('is retryable on 503 and the retry with the same key creates exactly one redeem', async () => {
      const body = redeemBody();
      const key = crypto.randomUUID();
      rig.fake.behaviour.failNext('redeem', 1, 502);
      const err = await alpacaError(rig.client.redeem(body, { idempotencyKey: key }));
      assert.deepEqual([err.status, err.retryable], [502, true]);
      await rig.client.redeem(body, { idempotencyKey: key });
      await rig.client.redeem(body, { idempotencyKey: key });
      assert.equal(rig.fake.redeemRequests().length, 1);
    });
  });

  describe('lookups', () => {
    it('turns 404 into null, for both lookups', async () => {
      assert.equal(await rig.client.getRequest(crypto.randomUUID()), null);
      assert.equal(await rig.client.getRequestByIssuerRequestId('never-sent'), null);
    });

    it('does not turn other failures into null: 422 for a non-UUID id, retryable 503', async () => {
      const nonUuid = await alpacaError(rig.client.getRequest('12345-678-90AB'));
      assert.deepEqual([nonUuid.status, nonUuid.alpacaCode, nonUuid.retryable], [422, 42210001, false]);
      rig.fake.behaviour.failNext('lookup', 1);
      const unavailable = await alpacaError(rig.client.getRequest(crypto.randomUUID()));
      assert.deepEqual([unavailable.status, unavailable.retryable], [503, true]);
    });

    it('answers 404 (null) for the first lookups right after creation when lag is configured', async () => {
      rig.fake.behaviour.lookupNotFoundFirst = 2;
      const body = redeemBody();
      const created = await rig.client.redeem(body, { idempotencyKey: crypto.randomUUID() });
      assert.equal(await rig.client.getRequestByIssuerRequestId(body.issuer_request_id), null);
      assert.equal(await rig.client.getRequest(created.tokenization_request_id), null);
      assert.equal((await rig.client.getRequest(created.tokenization_request_id))?.tokenization_request_id, created.tokenization_request_id);
    });

    it('lists requests with filters', async () => {
      const { tokenizationRequestId } = await confirmedMint(rig.fake);
      const body = redeemBody();
      const redeemed = await rig.client.redeem(body, { idempotencyKey: crypto.randomUUID() });
      const all = await rig.client.listRequests();
      assert.deepEqual(all.map((r) => r.tokenization_request_id).sort(), [tokenizationRequestId, redeemed.tokenization_request_id].sort());
      const redeems = await rig.client.listRequests({ type: 'redeem' });
      assert.deepEqual(redeems.map((r) => r.tokenization_request_id), [redeemed.tokenization_request_id]);
      assert.deepEqual(await rig.client.listRequests({ after: new Date(Date.now() + 60_000).toISOString() }), []);
      const bad = await alpacaError(rig.client.listRequests({ after: 'yesterday' }));
      assert.equal(bad.status, 422);
    });
  });
});

describe('AlpacaClient response handling (stand-in servers)', () => {
  let server: Listening | undefined;
  let other: Listening | undefined;
  afterEach(async () => {
    await server?.close();
    await other?.close();
    server = other = undefined;
  });
  const accountId = crypto.randomUUID();
  const clientFor = (url: string) => new AlpacaClient({ baseUrl: url, accountId, auth: new BasicAuth('k', 's'), timeoutMs: 1_000 });
  const request = {
    tokenization_request_id: crypto.randomUUID(),
    issuer_request_id: 'iss-1',
    type: 'redeem',
    status: 'pending',
    underlying_symbol: 'AAPL',
    token_symbol: 'tAAPL',
    qty: '1',
    issuer: 'st0x',
    network: 'base',
    wallet_address: EVM_WALLET,
    tx_hash: null,
    created_at: new Date().toISOString(),
  };

  it('accepts new enum values, unknown fields, the legacy id and an empty tx_hash as data', async () => {
    const { tokenization_request_id, ...rest } = request;
    server = await listen((ctx) => {
      ctx.body = { ...rest, id: tokenization_request_id, network: 'plasma', issuer: 'newcomer', status: 'on_hold', tx_hash: '', brand_new_field: { x: 1 } };
    });
    const got = await clientFor(server.url).getRequest(tokenization_request_id);
    assert.equal(got?.tokenization_request_id, tokenization_request_id);
    assert.equal(got?.network, 'plasma');
    assert.equal(got?.status, 'on_hold');
    assert.equal(got?.tx_hash, null);
    assert.deepEqual((got as any).brand_new_field, { x: 1 });
    assert.equal(server.received[0]!.path, `/v1/accounts/${accountId}/tokenization/requests/${tokenization_request_id}`);
  });

  it('rejects a 2xx body missing required fields as a non-retryable invalid_response', async () => {
    server = await listen((ctx) => {
      ctx.body = { ...request, qty: 1.5, created_at: undefined };
    });
    const err = await alpacaError(clientFor(server.url).getRequest(request.tokenization_request_id));
    assert.deepEqual([err.kind, err.status, err.retryable], ['invalid_response', 200, false]);
    assert.match(err.message, /qty/);
    assert.match(err.message, /created_at/);
  });

  it('reports a non-JSON 502 from a proxy as retryable, without an Alpaca code', async () => {
    server = await listen((ctx) => {
      ctx.status = 502;
      ctx.type = 'text/html';
      ctx.body = '<html>bad gateway</html>';
    });
    const err = await alpacaError(clientFor(server.url).getRequest(request.tokenization_request_id));
    assert.deepEqual([err.status, err.alpacaCode, err.retryable], [502, undefined, true]);
  });

  it('does not follow a redirect (it would carry the Authorization header elsewhere)', async () => {
    other = await listen((ctx) => {
      ctx.body = request;
    });
    server = await listen((ctx) => {
      ctx.redirect(`${other!.url}${ctx.url}`);
    });
    const err = await alpacaError(clientFor(server.url).getRequestByIssuerRequestId('a b&c'));
    assert.deepEqual([err.status, err.retryable], [302, false]);
    assert.equal(other.received.length, 0);
    assert.equal(server.received[0]!.path, `/v1/accounts/${accountId}/tokenization/requests:by_issuer_request_id?issuer_request_id=a+b%26c`);
  });

  it('refuses a base URL that carries credentials', () => {
    assert.throws(() => clientFor('https://user:pass@broker-api.alpaca.markets'), /must not carry credentials/);
  });
});
