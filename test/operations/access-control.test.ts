import assert from 'node:assert/strict';
import { allowed, parseAllowList } from '../../server/guards/ip-allowlist';
import { type TestService, startTestService } from '../support/service';

const journalRows = async (svc: TestService) => Number((await svc.db('journal').count({ n: '*' }))[0]!.n);

describe('operations: access control (rate limits, IP allow-lists, security headers)', () => {
  let svc: TestService | undefined;
  afterEach(async () => {
    await svc?.close();
    svc = undefined;
  });

  it('limits each Alpaca credential separately: 429 with Retry-After, and nothing written', async () => {
    svc = await startTestService({ config: { access: { alpacaRateLimit: { points: 3, windowSeconds: 60 } } } });
    await svc.operator('POST', '/operator/aps', { email: 'desk@ap.example', wallets: [] });
    for (let i = 0; i < 3; i++) {
      assert.equal((await svc.alpaca('GET', '/tokenization/tokens')).status, 200);
    }
    const before = await journalRows(svc);
    const limited = await svc.alpaca('POST', '/tokenization/accounts/connect', { email: 'desk@ap.example', client_account_number: 'ACC-9' });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(await journalRows(svc), before, 'a limited request writes nothing');
    // The signature credential has its own budget.
    const signed = await svc.alpaca('POST', '/tokenization/accounts/connect', { email: 'desk@ap.example', client_account_number: 'ACC-9' }, 'signature');
    assert.equal(signed.status, 200);
    assert.equal(await journalRows(svc), before + 1);
  });

  it('limits each operator separately', async () => {
    const alice = 'alice-token-0123456789abcdef';
    const bob = 'bob-token-0123456789abcdef01';
    svc = await startTestService({ config: { operators: new Map([['alice', alice], ['bob', bob]]), access: { operatorRateLimit: { points: 2, windowSeconds: 60 } } } });
    const as = (token: string) => fetch(`${svc!.url}/operator/flows`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await as(alice)).status, 200);
    assert.equal((await as(alice)).status, 200);
    const third = await as(alice);
    assert.equal(third.status, 429);
    assert.ok(third.headers.get('retry-after'));
    assert.equal((await as(bob)).status, 200);
  });

  it('slows credential guessing: after repeated failures the address gets 429, even with a good key', async () => {
    svc = await startTestService({ config: { access: { authFailureLimit: { points: 3, windowSeconds: 60 } } } });
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${svc.url}/tokenization/tokens`, { headers: { 'x-api-key': `wrong-key-${i}-0123456789` } });
      assert.equal(r.status, 401);
    }
    const locked = await svc.alpaca('GET', '/tokenization/tokens');
    assert.equal(locked.status, 429);
    assert.equal(locked.body.code, 'rate_limited');
  });

  it('refuses callers outside the allow-list, and believes X-Forwarded-For only when told to', async () => {
    const operatorAllowList = parseAllowList('10.0.0.0/8');
    svc = await startTestService({ config: { access: { operatorAllowList, alpacaAllowList: parseAllowList('127.0.0.1, ::1') } } });
    const refused = await fetch(`${svc.url}/operator/flows`, { headers: { authorization: `Bearer ${svc.operatorToken}`, 'x-forwarded-for': '10.1.2.3' } });
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as any).code, 'ip_not_allowed');
    assert.equal((await svc.alpaca('GET', '/tokenization/tokens')).status, 200, 'loopback is on the Alpaca list');
    await svc.close();

    svc = await startTestService({ config: { access: { trustProxy: true, operatorAllowList } } });
    const viaProxy = await fetch(`${svc.url}/operator/flows`, { headers: { authorization: `Bearer ${svc.operatorToken}`, 'x-forwarded-for': '10.1.2.3' } });
    assert.equal(viaProxy.status, 200);
    const outside = await fetch(`${svc.url}/operator/flows`, { headers: { authorization: `Bearer ${svc.operatorToken}`, 'x-forwarded-for': '192.0.2.1' } });
    assert.equal(outside.status, 403);
  });

  it('parses allow-lists strictly and matches IPv4, IPv6 and IPv4-mapped addresses', () => {
    const list = parseAllowList('10.0.0.0/8, 2001:db8::/32, 192.0.2.7');
    assert.ok(allowed(list, '10.200.1.1'));
    assert.ok(allowed(list, '::ffff:10.0.0.1'));
    assert.ok(allowed(list, '2001:db8::1'));
    assert.ok(allowed(list, '192.0.2.7'));
    assert.ok(!allowed(list, '192.0.2.8'));
    assert.ok(!allowed(list, '11.0.0.1'));
    assert.ok(!allowed(list, 'not-an-ip'));
    assert.throws(() => parseAllowList('10.0.0.0/33'), /prefix/);
    assert.throws(() => parseAllowList('10.0.0.300'), /not an IP/);
  });

  it('challenges an operator call without a token (401 with WWW-Authenticate: Bearer), and answers a wrong method with 405', async () => {
    svc = await startTestService();
    const res = await fetch(`${svc.url}/operator/flows`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="operator"/);
    const wrongMethod = await fetch(`${svc.url}/operator/flows`, { method: 'DELETE', headers: { authorization: `Bearer ${svc.operatorToken}` } });
    assert.equal(wrongMethod.status, 405);
    assert.equal(((await wrongMethod.json()) as any).code, 'method_not_allowed');
  });

  it('sends security headers on every response, errors included', async () => {
    svc = await startTestService();
    for (const res of [await fetch(`${svc.url}/health/live`), await fetch(`${svc.url}/tokenization/tokens`), await fetch(`${svc.url}/no-such-route`)]) {
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
      assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.equal(res.headers.get('x-powered-by'), null);
    }
  });
});
