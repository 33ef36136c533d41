import assert from 'node:assert/strict';
import { apiKeyMatches, constantTimeEqual } from '../../server/auth/api-key';
import { alpacaAuth } from '../../server/auth/alpaca-auth';
import { InMemoryNonceStore } from '../../server/auth/nonce-store';
import { ed25519Pair, send, signedHeaders, startApp, type RunningApp } from './helpers';

const SECRET = 'issuer-api-key-0123456789abcdef';

describe('auth/api-key', () => {
  describe('apiKeyMatches', () => {
    it('matches only the exact secret', () => {
      assert.equal(apiKeyMatches(SECRET, SECRET), true);
      assert.equal(apiKeyMatches(`${SECRET}x`, SECRET), false);
      assert.equal(apiKeyMatches(SECRET.slice(0, -1), SECRET), false);
      assert.equal(apiKeyMatches(SECRET.toUpperCase(), SECRET), false);
    });

    it('never matches a missing or empty value, or an empty configured secret', () => {
      assert.equal(apiKeyMatches(undefined, SECRET), false);
      assert.equal(apiKeyMatches('', SECRET), false);
      assert.equal(apiKeyMatches([SECRET], SECRET), false);
      assert.equal(apiKeyMatches('', ''), false);
    });

    it('constantTimeEqual compares strings of different lengths without throwing', () => {
      assert.equal(constantTimeEqual('a', 'a much longer string'), false);
      assert.equal(constantTimeEqual('same', 'same'), true);
    });
  });

  describe('alpacaAuth with X-API-KEY over HTTP', () => {
    let srv: RunningApp;
    before(async () => {
      srv = await startApp([alpacaAuth({ apiKey: SECRET, maxAgeSeconds: 300, nonceStore: new InMemoryNonceStore() })]);
    });
    after(() => srv.close());

    it('accepts the right key on POST and GET', async () => {
      const post = await send(`${srv.base}/tokenization/mint`, {
        method: 'POST',
        headers: { 'X-API-KEY': SECRET, 'Content-Type': 'application/json' },
        body: '{"qty":"1"}',
      });
      assert.equal(post.status, 200);
      assert.deepEqual(post.json.auth, { scheme: 'api_key' });
      const get = await send(`${srv.base}/tokenization/tokens`, { method: 'GET', headers: { 'x-api-key': SECRET } });
      assert.equal(get.status, 200);
      assert.equal(get.json.ok, true);
    });

    it('rejects a wrong key with 401 invalid_api_key and does not echo the key', async () => {
      const wrong = `${SECRET.slice(0, -1)}X`;
      const r = await send(`${srv.base}/tokenization/tokens`, { method: 'GET', headers: { 'X-API-KEY': wrong } });
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'invalid_api_key');
      assert.ok(!r.text.includes(wrong));
      assert.ok(!r.text.includes(SECRET));
    });

    it('rejects a missing key with 401 missing_credentials', async () => {
      const r = await send(`${srv.base}/tokenization/tokens`, { method: 'GET' });
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'missing_credentials');
    });

    it('does not accept a bearer token in place of X-API-KEY', async () => {
      const r = await send(`${srv.base}/tokenization/tokens`, { method: 'GET', headers: { Authorization: `Bearer ${SECRET}` } });
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'missing_credentials');
    });
  });

  describe('alpacaAuth with both schemes configured', () => {
    const KEYID = 'alpaca-issuer-2026-01';
    const pair = ed25519Pair();
    let srv: RunningApp;
    before(async () => {
      srv = await startApp([
        alpacaAuth({
          apiKey: SECRET,
          signatureKeys: new Map([[KEYID, pair.publicKey]]),
          maxAgeSeconds: 300,
          nonceStore: new InMemoryNonceStore(),
        }),
      ]);
    });
    after(() => srv.close());

    it('accepts either a valid API key or a valid signature', async () => {
      const byKey = await send(`${srv.base}/tokenization/tokens`, { method: 'GET', headers: { 'X-API-KEY': SECRET } });
      assert.equal(byKey.status, 200);
      assert.deepEqual(byKey.json.auth, { scheme: 'api_key' });
      const url = `${srv.base}/tokenization/tokens`;
      const bySig = await send(url, { method: 'GET', headers: signedHeaders('GET', url, undefined, { keyid: KEYID, privateKey: pair.privateKey }) });
      assert.equal(bySig.status, 200);
      assert.deepEqual(bySig.json.auth, { scheme: 'signature', keyid: KEYID });
    });

    it('does not fall back to the API key when a presented signature is invalid', async () => {
      const url = `${srv.base}/tokenization/tokens`;
      const other = ed25519Pair();
      const headers = signedHeaders('GET', url, undefined, { keyid: KEYID, privateKey: other.privateKey }, { 'X-API-KEY': SECRET });
      const r = await send(url, { method: 'GET', headers });
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'invalid_signature');
    });
  });

  describe('alpacaAuth configuration', () => {
    it('refuses to start without any credential or with bad settings', () => {
      const nonceStore = new InMemoryNonceStore();
      assert.throws(() => alpacaAuth({ maxAgeSeconds: 300, nonceStore }), TypeError);
      assert.throws(() => alpacaAuth({ apiKey: '', maxAgeSeconds: 300, nonceStore }), TypeError);
      assert.throws(() => alpacaAuth({ apiKey: SECRET, maxAgeSeconds: 0, nonceStore }), TypeError);
      assert.throws(() => alpacaAuth({ apiKey: SECRET, maxAgeSeconds: 300, nonceStore, publicBaseUrl: 'not a url' }));
      const priv = ed25519Pair().privateKey; // a private key is not a verification key
      assert.throws(() => alpacaAuth({ signatureKeys: new Map([['k', priv]]), maxAgeSeconds: 300, nonceStore }), TypeError);
    });
  });
});
