import assert from 'node:assert/strict';
import { alpacaAuth, requestTargetUri } from '../../server/auth/alpaca-auth';
import { InMemoryNonceStore, type NonceStore } from '../../server/auth/nonce-store';
import type { SignOptions } from '../../server/auth/http-signature';
import { ed25519Pair, send, signedHeaders, startApp, type RunningApp } from './helpers';

const KEYID = 'alpaca-issuer-2026-01';
const MAX_AGE = 300;
const MINT_BODY = JSON.stringify({
  tokenization_request_id: '12345-678-90AB',
  qty: '1.23',
  underlying_symbol: 'TSLA',
  token_symbol: 'TSLAx',
  network: 'base',
  client_external_account_id: '98765432',
  wallet_address: '0x1111111111111111111111111111111111111111',
});

describe('auth/alpaca-auth (HTTP message signatures over real HTTP)', () => {
  const alpaca = ed25519Pair();
  const keys = new Map([[KEYID, alpaca.publicKey]]);
  const sign = (opts: Partial<SignOptions> = {}): SignOptions => ({ keyid: KEYID, privateKey: alpaca.privateKey, ...opts });

  describe('direct connection (target URI from Host)', () => {
    let srv: RunningApp;
    let store: InMemoryNonceStore;
    before(async () => {
      store = new InMemoryNonceStore();
      srv = await startApp([alpacaAuth({ signatureKeys: keys, maxAgeSeconds: MAX_AGE, nonceStore: store })]);
    });
    after(() => srv.close());

    const post = (url: string, headers: Record<string, string>, body = MINT_BODY) => send(url, { method: 'POST', headers, body });

    it('passes a correctly signed POST and exposes the keyid', async () => {
      const url = `${srv.base}/tokenization/mint`;
      const r = await post(url, signedHeaders('POST', url, MINT_BODY, sign()));
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.auth, { scheme: 'signature', keyid: KEYID });
      assert.equal(r.json.bodyBytes, Buffer.byteLength(MINT_BODY));
    });

    it('passes a correctly signed GET (with a query string)', async () => {
      const url = `${srv.base}/tokenization/tokens?network=base`;
      const headers = signedHeaders('GET', url, undefined, sign());
      assert.equal(headers['Content-Digest'], undefined);
      const r = await send(url, { method: 'GET', headers });
      assert.equal(r.status, 200, r.text);
    });

    it('tampered body → 401 content_digest_mismatch', async () => {
      const url = `${srv.base}/tokenization/mint`;
      const headers = signedHeaders('POST', url, MINT_BODY, sign());
      const r = await post(url, headers, MINT_BODY.replace('"1.23"', '"100.23"'));
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'content_digest_mismatch');
    });

    it('signed with the wrong private key → 401 invalid_signature, and the signature is not echoed', async () => {
      const url = `${srv.base}/tokenization/mint`;
      const headers = signedHeaders('POST', url, MINT_BODY, sign({ privateKey: ed25519Pair().privateKey }));
      const r = await post(url, headers);
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'invalid_signature');
      const sigB64 = (headers.Signature ?? '').slice('sig=:'.length, -1);
      assert.ok(sigB64.length > 80);
      assert.ok(!r.text.includes(sigB64));
    });

    it('unknown keyid → 401 unknown_key_id', async () => {
      const url = `${srv.base}/tokenization/mint`;
      const r = await post(url, signedHeaders('POST', url, MINT_BODY, sign({ keyid: 'alpaca-issuer-1999-01' })));
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'unknown_key_id');
    });

    it('stale created → 401 stale_signature', async () => {
      const url = `${srv.base}/tokenization/mint`;
      const created = Math.floor(Date.now() / 1000) - MAX_AGE - 5;
      const r = await post(url, signedHeaders('POST', url, MINT_BODY, sign({ created })));
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'stale_signature');
    });

    it('created in the future beyond the skew → 401 stale_signature', async () => {
      const url = `${srv.base}/tokenization/mint`;
      const created = Math.floor(Date.now() / 1000) + 120;
      const r = await post(url, signedHeaders('POST', url, MINT_BODY, sign({ created })));
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'stale_signature');
    });

    it('replayed request (same nonce) → first 200, then 401 replayed_nonce', async () => {
      const url = `${srv.base}/tokenization/mint/confirm`;
      const body = JSON.stringify({ tokenization_request_id: '12345-678-90AB', issuer_request_id: 'ABC', status: 'completed' });
      const headers = signedHeaders('POST', url, body, sign());
      const first = await post(url, headers, body);
      assert.equal(first.status, 200, first.text);
      const second = await post(url, headers, body);
      assert.equal(second.status, 401);
      assert.equal(second.json.code, 'replayed_nonce');
    });

    it('a retried delivery re-signed with a fresh nonce (identical body) passes', async () => {
      const url = `${srv.base}/tokenization/mint/confirm`;
      const body = JSON.stringify({ tokenization_request_id: 'retry-1', issuer_request_id: 'ABC', status: 'completed' });
      const a = await post(url, signedHeaders('POST', url, body, sign()), body);
      const b = await post(url, signedHeaders('POST', url, body, sign()), body);
      assert.deepEqual([a.status, b.status], [200, 200]);
    });

    it('missing signature → 401 missing_credentials (an X-API-KEY does not help when only signatures are configured)', async () => {
      const url = `${srv.base}/tokenization/mint`;
      const r = await post(url, { 'Content-Type': 'application/json', 'X-API-KEY': 'anything' });
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'missing_credentials');
    });

    it('missing nonce → 401 malformed_signature', async () => {
      const url = `${srv.base}/tokenization/mint`;
      const headers = signedHeaders('POST', url, MINT_BODY, sign());
      headers['Signature-Input'] = (headers['Signature-Input'] ?? '').replace(/;nonce="[0-9a-f]+"/, '');
      const r = await post(url, headers);
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'malformed_signature');
    });

    it('POST signed over @method @target-uri only → 401 insufficient_coverage', async () => {
      const url = `${srv.base}/tokenization/mint`;
      const r = await post(url, signedHeaders('POST', url, MINT_BODY, sign({ components: ['@method', '@target-uri'] })));
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'insufficient_coverage');
    });

    it('alg other than ed25519 → 401 unsupported_algorithm', async () => {
      const url = `${srv.base}/tokenization/mint`;
      const r = await post(url, signedHeaders('POST', url, MINT_BODY, sign({ alg: 'hmac-sha256' })));
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'unsupported_algorithm');
    });

    it('a signature made for another path is not accepted on this one', async () => {
      const signedFor = `${srv.base}/tokenization/mint`;
      const r = await post(`${srv.base}/inkind/issuance`, signedHeaders('POST', signedFor, MINT_BODY, sign()));
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'invalid_signature');
    });
  });

  describe('behind a proxy', () => {
    it('publicBaseUrl: the target URI is the public base + the original path and query', async () => {
      const srv = await startApp([
        alpacaAuth({ signatureKeys: keys, maxAgeSeconds: MAX_AGE, nonceStore: new InMemoryNonceStore(), publicBaseUrl: 'https://issuer.example.com/' }),
      ]);
      try {
        const publicUrl = 'https://issuer.example.com/tokenization/mint?x=1';
        const ok = await send(`${srv.base}/tokenization/mint?x=1`, { method: 'POST', headers: signedHeaders('POST', publicUrl, MINT_BODY, sign()), body: MINT_BODY });
        assert.equal(ok.status, 200, ok.text);
        // A signature over the internal URL is not valid for the public one.
        const internalUrl = `${srv.base}/tokenization/mint`;
        const bad = await send(internalUrl, { method: 'POST', headers: signedHeaders('POST', internalUrl, MINT_BODY, sign()), body: MINT_BODY });
        assert.equal(bad.status, 401);
        assert.equal(bad.json.code, 'invalid_signature');
      } finally {
        await srv.close();
      }
    });

    it('app.proxy: X-Forwarded-Proto and X-Forwarded-Host are honoured; without app.proxy they are not', async () => {
      const publicUrl = 'https://issuer.example.com/tokenization/tokens';
      const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'issuer.example.com' };
      for (const proxy of [true, false]) {
        const srv = await startApp([alpacaAuth({ signatureKeys: keys, maxAgeSeconds: MAX_AGE, nonceStore: new InMemoryNonceStore() })], { proxy });
        try {
          const headers = signedHeaders('GET', publicUrl, undefined, sign(), forwarded);
          const r = await send(`${srv.base}/tokenization/tokens`, { method: 'GET', headers });
          assert.equal(r.status, proxy ? 200 : 401, `proxy=${proxy}: ${r.text}`);
        } finally {
          await srv.close();
        }
      }
    });

    it('requestTargetUri builds the URI from either source', () => {
      const ctx = { protocol: 'http', host: '10.0.0.5:3000', originalUrl: '/tokenization/mint?a=b' };
      assert.equal(requestTargetUri(ctx), 'http://10.0.0.5:3000/tokenization/mint?a=b');
      assert.equal(requestTargetUri(ctx, 'https://issuer.example.com'), 'https://issuer.example.com/tokenization/mint?a=b');
      assert.equal(requestTargetUri(ctx, 'https://api.example.com/issuer/'), 'https://api.example.com/issuer/tokenization/mint?a=b');
    });
  });

  describe('failures of our own are 5xx, not 401', () => {
    it('a failing nonce store yields 500 (Alpaca retries 5xx, treats 4xx as final)', async () => {
      const broken: NonceStore = {
        seen: async () => {
          throw new Error('db down');
        },
      };
      const srv = await startApp([alpacaAuth({ signatureKeys: keys, maxAgeSeconds: MAX_AGE, nonceStore: broken })]);
      try {
        const url = `${srv.base}/tokenization/mint`;
        const r = await send(url, { method: 'POST', headers: signedHeaders('POST', url, MINT_BODY, sign()), body: MINT_BODY });
        assert.equal(r.status, 500);
      } finally {
        await srv.close();
      }
    });

    it('a POST without ctx.state.rawBody (body reader missing) yields 500', async () => {
      const Koa = (await import('koa')).default;
      const app = new Koa();
      app.silent = true;
      app.use(alpacaAuth({ signatureKeys: keys, maxAgeSeconds: MAX_AGE, nonceStore: new InMemoryNonceStore() }));
      app.use((ctx) => {
        ctx.body = 'reached';
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      try {
        const { port } = server.address() as import('node:net').AddressInfo;
        const url = `http://127.0.0.1:${port}/tokenization/mint`;
        const res = await fetch(url, { method: 'POST', headers: signedHeaders('POST', url, MINT_BODY, sign()), body: MINT_BODY });
        assert.equal(res.status, 500);
        assert.notEqual(await res.text(), 'reached');
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
