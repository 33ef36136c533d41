import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import {
  buildSignatureBase,
  ed25519PublicKeyFromPem,
  requiredComponents,
  signRequest,
  verifyRequest,
  type HeaderBag,
  type VerifyOptions,
} from '../../server/auth/http-signature';
import { ed25519Pair, RFC_ED25519_PRIVATE_PEM, RFC_ED25519_PUBLIC_PEM } from './helpers';

const KEYID = 'alpaca-issuer-2026-01';
const URL_MINT = 'https://issuer.example.com/tokenization/mint';
const URL_TOKENS = 'https://issuer.example.com/tokenization/tokens';
const BODY = Buffer.from('{"tokenization_request_id":"12345-678-90AB","qty":"1.23"}');
const T0 = 1_700_000_000; // unix seconds
const MAX_AGE = 300;

interface NonceCall {
  keyid: string;
  nonce: string;
  expiresAtMs: number;
}

function harness(overrides: Partial<VerifyOptions> = {}, nowSeconds = T0 + 1) {
  const pair = ed25519Pair();
  const calls: NonceCall[] = [];
  const seen = new Set<string>();
  const options: VerifyOptions = {
    keys: new Map([[KEYID, pair.publicKey]]),
    maxAgeSeconds: MAX_AGE,
    now: () => nowSeconds * 1000,
    nonceSeen: async (keyid, nonce, expiresAtMs) => {
      calls.push({ keyid, nonce, expiresAtMs });
      const k = `${keyid} ${nonce}`;
      if (seen.has(k)) return true;
      seen.add(k);
      return false;
    },
    ...overrides,
  };
  return { pair, calls, options };
}

function signedPost(privateKey: ReturnType<typeof ed25519Pair>['privateKey'], opts: Partial<Parameters<typeof signRequest>[1]> = {}) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const sig = signRequest({ method: 'POST', targetUri: URL_MINT, headers, rawBody: BODY }, { keyid: KEYID, privateKey, created: T0, ...opts });
  const all: Record<string, string> = { ...headers };
  for (const [k, v] of Object.entries(sig)) if (v !== undefined) all[k] = v;
  return all;
}

describe('auth/http-signature', () => {
  describe('RFC 9421 Appendix B.2.6 (Ed25519 test vector)', () => {
    // Test request from RFC 9421 Appendix B.2.
    const headers: HeaderBag = {
      host: 'example.com',
      date: 'Tue, 20 Apr 2021 02:07:55 GMT',
      'content-type': 'application/json',
      'content-digest':
        'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
      'content-length': '18',
    };
    const req = { method: 'POST', targetUri: 'https://example.com/foo?param=Value&Pet=dog', headers };
    const params = '("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"';
    const expectedBase = [
      '"date": Tue, 20 Apr 2021 02:07:55 GMT',
      '"@method": POST',
      '"@path": /foo',
      '"@authority": example.com',
      '"content-type": application/json',
      '"content-length": 18',
      `"@signature-params": ${params}`,
    ].join('\n');
    const expectedSig = 'wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==';

    it('builds the exact signature base', () => {
      const base = buildSignatureBase(req, ['date', '@method', '@path', '@authority', 'content-type', 'content-length'], params);
      assert.equal(base, expectedBase);
    });

    it('node:crypto Ed25519 over that base reproduces the RFC signature with the RFC key', () => {
      const sig = cryptoSign(null, Buffer.from(expectedBase), createPrivateKey(RFC_ED25519_PRIVATE_PEM));
      assert.equal(sig.toString('base64'), expectedSig);
      const pub = ed25519PublicKeyFromPem(RFC_ED25519_PUBLIC_PEM);
      assert.equal(cryptoVerify(null, Buffer.from(expectedBase), pub, Buffer.from(expectedSig, 'base64')), true);
    });

    it('verifyRequest rejects the RFC message: it has no nonce and does not cover @target-uri', async () => {
      const r = await verifyRequest(
        {
          ...req,
          rawBody: Buffer.from('{"hello": "world"}'),
          headers: { ...headers, 'signature-input': `sig-b26=${params}`, signature: `sig-b26=:${expectedSig}:` },
        },
        {
          keys: new Map([['test-key-ed25519', ed25519PublicKeyFromPem(RFC_ED25519_PUBLIC_PEM)]]),
          maxAgeSeconds: 1e12,
          now: () => 1618884473_000,
          nonceSeen: async () => false,
          label: 'sig-b26',
        },
      );
      assert.deepEqual(r, { ok: false, code: 'malformed_signature', reason: 'nonce parameter is required' });
    });
  });

  describe('signRequest (what our fake Alpaca emits)', () => {
    const { privateKey, publicKey } = ed25519Pair();
    const nonce = 'deadbeefdeadbeefdeadbeefdeadbeef';

    it('POST: headers have the documented shape and the signature covers the documented base', () => {
      const headers = { 'Content-Type': 'application/json' };
      const out = signRequest({ method: 'POST', targetUri: URL_MINT, headers, rawBody: BODY }, { keyid: KEYID, privateKey, created: T0, nonce });
      assert.equal(
        out['Signature-Input'],
        `sig=("@method" "@target-uri" "content-type" "content-digest");created=${T0};keyid="${KEYID}";alg="ed25519";nonce="${nonce}"`,
      );
      assert.match(out.Signature, /^sig=:[A-Za-z0-9+/]{86}==:$/);
      assert.match(out['Content-Digest'] ?? '', /^sha-256=:[A-Za-z0-9+/]{43}=:$/);

      const base = [
        '"@method": POST',
        `"@target-uri": ${URL_MINT}`,
        '"content-type": application/json',
        `"content-digest": ${out['Content-Digest']}`,
        `"@signature-params": ${out['Signature-Input'].slice('sig='.length)}`,
      ].join('\n');
      const sigBytes = Buffer.from(out.Signature.slice('sig=:'.length, -1), 'base64');
      assert.equal(cryptoVerify(null, Buffer.from(base), publicKey, sigBytes), true);
    });

    it('GET: covers only @method and @target-uri and sets no Content-Digest', () => {
      const out = signRequest({ method: 'GET', targetUri: URL_TOKENS, headers: {} }, { keyid: KEYID, privateKey, created: T0, nonce });
      assert.equal(out['Signature-Input'], `sig=("@method" "@target-uri");created=${T0};keyid="${KEYID}";alg="ed25519";nonce="${nonce}"`);
      assert.equal(out['Content-Digest'], undefined);
    });

    it('default nonce is fresh 128-bit hex and default created is now', () => {
      const a = signRequest({ method: 'GET', targetUri: URL_TOKENS, headers: {} }, { keyid: KEYID, privateKey });
      const b = signRequest({ method: 'GET', targetUri: URL_TOKENS, headers: {} }, { keyid: KEYID, privateKey });
      const na = /nonce="([0-9a-f]+)"/.exec(a['Signature-Input'])?.[1];
      const nb = /nonce="([0-9a-f]+)"/.exec(b['Signature-Input'])?.[1];
      assert.equal(na?.length, 32);
      assert.notEqual(na, nb);
      const created = Number(/created=(\d+)/.exec(a['Signature-Input'])?.[1]);
      assert.ok(Math.abs(created - Date.now() / 1000) < 5);
    });

    it('refuses to sign without Content-Type when it is covered, or with a public key', () => {
      assert.throws(() => signRequest({ method: 'POST', targetUri: URL_MINT, headers: {}, rawBody: BODY }, { keyid: KEYID, privateKey }));
      assert.throws(() => signRequest({ method: 'GET', targetUri: URL_TOKENS, headers: {} }, { keyid: KEYID, privateKey: publicKey }), TypeError);
    });
  });

  describe('requiredComponents', () => {
    it('full set for bodies and non-GET methods, @method @target-uri for bodyless GET/HEAD', () => {
      assert.deepEqual(requiredComponents('POST', BODY), ['@method', '@target-uri', 'content-type', 'content-digest']);
      assert.deepEqual(requiredComponents('POST', Buffer.alloc(0)), ['@method', '@target-uri', 'content-type', 'content-digest']);
      assert.deepEqual(requiredComponents('GET', BODY), ['@method', '@target-uri', 'content-type', 'content-digest']);
      assert.deepEqual(requiredComponents('GET', Buffer.alloc(0)), ['@method', '@target-uri']);
      assert.deepEqual(requiredComponents('head', Buffer.alloc(0)), ['@method', '@target-uri']);
    });
  });

  describe('verifyRequest', () => {
    it('accepts a correctly signed POST and records the nonce until the signature would be stale', async () => {
      const { pair, calls, options } = harness();
      const headers = signedPost(pair.privateKey, { nonce: 'n-1' });
      const r = await verifyRequest({ method: 'POST', targetUri: URL_MINT, headers, rawBody: BODY }, options);
      assert.deepEqual(r, { ok: true, keyid: KEYID });
      assert.deepEqual(calls, [{ keyid: KEYID, nonce: 'n-1', expiresAtMs: (T0 + MAX_AGE + 10) * 1000 }]);
    });

    it('accepts lower-cased header names as Node delivers them', async () => {
      const { pair, options } = harness();
      const lower = Object.fromEntries(Object.entries(signedPost(pair.privateKey)).map(([k, v]) => [k.toLowerCase(), v]));
      const r = await verifyRequest({ method: 'POST', targetUri: URL_MINT, headers: lower, rawBody: BODY }, options);
      assert.equal(r.ok, true);
    });

    it('rejects the same nonce the second time', async () => {
      const { pair, options } = harness();
      const headers = signedPost(pair.privateKey);
      const req = { method: 'POST', targetUri: URL_MINT, headers, rawBody: BODY };
      assert.equal((await verifyRequest(req, options)).ok, true);
      const again = await verifyRequest(req, options);
      assert.equal(again.ok, false);
      assert.equal(!again.ok && again.code, 'replayed_nonce');
    });

    it('accepts any of several keys during a rotation', async () => {
      const { pair, options } = harness();
      const next = ed25519Pair();
      const keys = new Map([[KEYID, pair.publicKey], ['alpaca-issuer-2026-07', next.publicKey]]);
      const r1 = await verifyRequest(
        { method: 'POST', targetUri: URL_MINT, headers: signedPost(pair.privateKey), rawBody: BODY },
        { ...options, keys },
      );
      const r2 = await verifyRequest(
        { method: 'POST', targetUri: URL_MINT, headers: signedPost(next.privateKey, { keyid: 'alpaca-issuer-2026-07' }), rawBody: BODY },
        { ...options, keys },
      );
      assert.deepEqual([r1, r2], [{ ok: true, keyid: KEYID }, { ok: true, keyid: 'alpaca-issuer-2026-07' }]);
    });

    it('accepts a signature without the alg parameter (the key fixes the algorithm)', async () => {
      const { pair, options } = harness();
      const r = await verifyRequest({ method: 'POST', targetUri: URL_MINT, headers: signedPost(pair.privateKey, { alg: null }), rawBody: BODY }, options);
      assert.equal(r.ok, true);
    });

    const failures: Array<{
      name: string;
      code: string;
      build: (pair: ReturnType<typeof ed25519Pair>) => { method?: string; targetUri?: string; headers: Record<string, string>; rawBody?: Buffer };
      nowSeconds?: number;
    }> = [
      { name: 'no signature headers', code: 'missing_credentials', build: () => ({ headers: { 'Content-Type': 'application/json' } }) },
      {
        name: 'Signature without Signature-Input',
        code: 'missing_credentials',
        build: (p) => {
          const { 'Signature-Input': _drop, ...rest } = signedPost(p.privateKey);
          return { headers: rest };
        },
      },
      { name: 'unparsable Signature-Input', code: 'malformed_signature', build: (p) => ({ headers: { ...signedPost(p.privateKey), 'Signature-Input': 'sig=(("' } }) },
      {
        name: 'label other than sig',
        code: 'malformed_signature',
        build: (p) => ({ headers: signedPost(p.privateKey, { label: 'sig1' }) }),
      },
      {
        name: 'missing nonce',
        code: 'malformed_signature',
        build: (p) => {
          const h = signedPost(p.privateKey);
          return { headers: { ...h, 'Signature-Input': (h['Signature-Input'] ?? '').replace(/;nonce="[^"]*"/, '') } };
        },
      },
      {
        name: 'missing created',
        code: 'malformed_signature',
        build: (p) => {
          const h = signedPost(p.privateKey);
          return { headers: { ...h, 'Signature-Input': (h['Signature-Input'] ?? '').replace(/;created=\d+/, '') } };
        },
      },
      {
        name: 'component parameters (;req)',
        code: 'malformed_signature',
        build: (p) => signedPostWithInput(p, (s) => s.replace('"content-type"', '"content-type";req')),
      },
      { name: 'unknown keyid', code: 'unknown_key_id', build: (p) => ({ headers: signedPost(p.privateKey, { keyid: 'someone-else' }) }) },
      { name: 'alg rsa-pss-sha512', code: 'unsupported_algorithm', build: (p) => ({ headers: signedPost(p.privateKey, { alg: 'rsa-pss-sha512' }) }) },
      {
        name: 'POST covering only @method @target-uri',
        code: 'insufficient_coverage',
        build: (p) => ({ headers: signedPost(p.privateKey, { components: ['@method', '@target-uri'] }) }),
      },
      {
        name: 'POST not covering content-digest',
        code: 'insufficient_coverage',
        build: (p) => ({ headers: signedPost(p.privateKey, { components: ['@method', '@target-uri', 'content-type'] }) }),
      },
      {
        name: 'signed by another key under our keyid',
        code: 'invalid_signature',
        build: () => ({ headers: signedPost(ed25519Pair().privateKey) }),
      },
      { name: 'different target URI', code: 'invalid_signature', build: (p) => ({ headers: signedPost(p.privateKey), targetUri: 'https://issuer.example.com/inkind/issuance' }) },
      { name: 'different host in target URI', code: 'invalid_signature', build: (p) => ({ headers: signedPost(p.privateKey), targetUri: 'https://evil.example.com/tokenization/mint' }) },
      { name: 'different method', code: 'invalid_signature', build: (p) => ({ headers: signedPost(p.privateKey), method: 'PUT' }) },
      {
        name: 'changed Content-Type',
        code: 'invalid_signature',
        build: (p) => ({ headers: { ...signedPost(p.privateKey), 'Content-Type': 'text/plain' } }),
      },
      {
        name: 'truncated signature bytes',
        code: 'invalid_signature',
        build: (p) => ({ headers: { ...signedPost(p.privateKey), Signature: 'sig=:AAAA:' } }),
      },
      {
        name: 'Content-Digest header removed',
        code: 'content_digest_mismatch',
        build: (p) => {
          const { 'Content-Digest': _drop, ...rest } = signedPost(p.privateKey);
          return { headers: rest };
        },
      },
      {
        name: 'tampered body',
        code: 'content_digest_mismatch',
        build: (p) => ({ headers: signedPost(p.privateKey), rawBody: Buffer.from(BODY.toString().replace('1.23', '9.23')) }),
      },
      { name: 'created older than maxAge', code: 'stale_signature', build: (p) => ({ headers: signedPost(p.privateKey) }), nowSeconds: T0 + MAX_AGE + 1 },
      { name: 'created beyond the allowed future skew', code: 'stale_signature', build: (p) => ({ headers: signedPost(p.privateKey) }), nowSeconds: T0 - 11 },
    ];

    function signedPostWithInput(p: ReturnType<typeof ed25519Pair>, edit: (input: string) => string) {
      return { headers: { ...signedPost(p.privateKey), 'Signature-Input': edit(signedPost(p.privateKey)['Signature-Input'] ?? '') } };
    }

    for (const f of failures) {
      it(`rejects: ${f.name} → ${f.code}, without recording the nonce`, async () => {
        const { pair, calls, options } = harness({}, f.nowSeconds ?? T0 + 1);
        const built = f.build(pair);
        const r = await verifyRequest(
          { method: built.method ?? 'POST', targetUri: built.targetUri ?? URL_MINT, headers: built.headers, rawBody: built.rawBody ?? BODY },
          options,
        );
        assert.equal(r.ok, false);
        assert.equal(!r.ok && r.code, f.code);
        assert.equal(calls.length, 0, 'nonce must only be recorded for otherwise valid requests');
      });
    }

    it('accepts created exactly maxAge old and up to the skew in the future', async () => {
      for (const nowSeconds of [T0 + MAX_AGE, T0 - 10]) {
        const { pair, options } = harness({}, nowSeconds);
        const r = await verifyRequest({ method: 'POST', targetUri: URL_MINT, headers: signedPost(pair.privateKey), rawBody: BODY }, options);
        assert.equal(r.ok, true, `now=${nowSeconds}`);
      }
    });

    it('rejects an expired signature (expires parameter)', async () => {
      const { pair, options } = harness({}, T0 + 100);
      const h = signedPost(pair.privateKey);
      // Re-sign with an `expires` parameter by editing the input and signing the edited base.
      const input = (h['Signature-Input'] ?? '').replace(`created=${T0}`, `created=${T0};expires=${T0 + 30}`);
      const base = buildSignatureBase(
        { method: 'POST', targetUri: URL_MINT, headers: h },
        ['@method', '@target-uri', 'content-type', 'content-digest'],
        input.slice('sig='.length),
      );
      const sig = cryptoSign(null, Buffer.from(base), pair.privateKey).toString('base64');
      const headers = { ...h, 'Signature-Input': input, Signature: `sig=:${sig}:` };
      const r = await verifyRequest({ method: 'POST', targetUri: URL_MINT, headers, rawBody: BODY }, options);
      assert.equal(!r.ok && r.code, 'stale_signature');
      // and the same construction with a future expiry passes, proving the edit itself is sound
      const input2 = (h['Signature-Input'] ?? '').replace(`created=${T0}`, `created=${T0};expires=${T0 + 3600}`);
      const base2 = buildSignatureBase(
        { method: 'POST', targetUri: URL_MINT, headers: h },
        ['@method', '@target-uri', 'content-type', 'content-digest'],
        input2.slice('sig='.length),
      );
      const sig2 = cryptoSign(null, Buffer.from(base2), pair.privateKey).toString('base64');
      const r2 = await verifyRequest(
        { method: 'POST', targetUri: URL_MINT, headers: { ...h, 'Signature-Input': input2, Signature: `sig=:${sig2}:` }, rawBody: BODY },
        options,
      );
      assert.equal(r2.ok, true);
    });

    it('GET: accepts @method @target-uri coverage and rejects a signature for another query', async () => {
      const { pair, options } = harness();
      const sig = signRequest({ method: 'GET', targetUri: `${URL_TOKENS}?a=1`, headers: {} }, { keyid: KEYID, privateKey: pair.privateKey, created: T0 });
      const headers = { 'Signature-Input': sig['Signature-Input'], Signature: sig.Signature };
      const ok = await verifyRequest({ method: 'GET', targetUri: `${URL_TOKENS}?a=1`, headers, rawBody: Buffer.alloc(0) }, options);
      assert.equal(ok.ok, true);
      const bad = await verifyRequest({ method: 'GET', targetUri: `${URL_TOKENS}?a=2`, headers, rawBody: Buffer.alloc(0) }, options);
      assert.equal(!bad.ok && bad.code, 'invalid_signature');
    });

    it('GET signed without a body but delivered with one must cover the body components', async () => {
      const { pair, options } = harness();
      const sig = signRequest({ method: 'GET', targetUri: URL_TOKENS, headers: {} }, { keyid: KEYID, privateKey: pair.privateKey, created: T0 });
      const r = await verifyRequest({ method: 'GET', targetUri: URL_TOKENS, headers: { ...sig }, rawBody: Buffer.from('x') }, options);
      assert.equal(!r.ok && r.code, 'insufficient_coverage');
    });

    it('propagates a failing nonce store instead of answering 401', async () => {
      const { pair, options } = harness({
        nonceSeen: async () => {
          throw new Error('database unavailable');
        },
      });
      await assert.rejects(
        verifyRequest({ method: 'POST', targetUri: URL_MINT, headers: signedPost(pair.privateKey), rawBody: BODY }, options),
        /database unavailable/,
      );
    });

    it('rejects when the configured key is not Ed25519', async () => {
      const { pair, options } = harness();
      const x = generateKeyPairSync('x25519').publicKey;
      const r = await verifyRequest(
        { method: 'POST', targetUri: URL_MINT, headers: signedPost(pair.privateKey), rawBody: BODY },
        { ...options, keys: new Map([[KEYID, x]]) },
      );
      assert.equal(!r.ok && r.code, 'unsupported_algorithm');
    });
  });
});
