import assert from 'node:assert/strict';
import { bearerToken, operatorAuth } from '../../server/auth/operator-auth';
import { send, startApp, type RunningApp } from './helpers';

const TOKEN = 'operator-token-5f0c2a9e7b1d4c38';

describe('auth/operator-auth', () => {
  let srv: RunningApp;
  before(async () => {
    srv = await startApp([operatorAuth({ token: TOKEN })]);
  });
  after(() => srv.close());

  it('accepts the right bearer token (scheme case-insensitive)', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const r = await send(`${srv.base}/operator/escalations`, { method: 'GET', headers: { Authorization: `${scheme} ${TOKEN}` } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.operator, { id: 'operator' });
    }
  });

  it('rejects a wrong token with 401 invalid_operator_token, a challenge, and no token in the body', async () => {
    const wrong = `${TOKEN.slice(0, -1)}0`;
    const r = await send(`${srv.base}/operator/escalations`, { method: 'POST', headers: { Authorization: `Bearer ${wrong}` }, body: '{}' });
    assert.equal(r.status, 401);
    assert.equal(r.json.code, 'invalid_operator_token');
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer /);
    assert.ok(!r.text.includes(wrong) && !r.text.includes(TOKEN));
  });

  it('rejects a missing token, another scheme, or the Alpaca API key header with 401 missing_credentials', async () => {
    const variants: Array<Record<string, string>> = [{}, { Authorization: `Basic ${Buffer.from(`op:${TOKEN}`).toString('base64')}` }, { 'X-API-KEY': TOKEN }];
    for (const headers of variants) {
      const r = await send(`${srv.base}/operator/escalations`, { method: 'GET', headers });
      assert.equal(r.status, 401);
      assert.equal(r.json.code, 'missing_credentials');
    }
  });

  it('bearerToken parses only well-formed Bearer headers', () => {
    assert.equal(bearerToken(`Bearer ${TOKEN}`), TOKEN);
    assert.equal(bearerToken(`BEARER   ${TOKEN}`), TOKEN);
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken(`Bearer ${TOKEN} extra`), undefined);
    assert.equal(bearerToken(`Token ${TOKEN}`), undefined);
  });

  it('names the operator whose token matched', async () => {
    const alice = 'alice-token-0123456789abcdef';
    const bob = 'bob-token-0123456789abcdef01';
    const named = await startApp([operatorAuth({ operators: new Map([['alice', alice], ['bob', bob]]) })]);
    try {
      for (const [id, token] of [['alice', alice], ['bob', bob]]) {
        const r = await send(`${named.base}/operator/escalations`, { method: 'GET', headers: { Authorization: `Bearer ${token}` } });
        assert.equal(r.status, 200);
        assert.deepEqual(r.json.operator, { id });
      }
      const r = await send(`${named.base}/operator/escalations`, { method: 'GET', headers: { Authorization: `Bearer ${TOKEN}` } });
      assert.equal(r.status, 401);
    } finally {
      await named.close();
    }
  });

  it('refuses a short or empty configured token', () => {
    assert.throws(() => operatorAuth({ operators: new Map([['alice', 'short']]) }), TypeError);
    assert.throws(() => operatorAuth({ token: '' }), TypeError);
    assert.throws(() => operatorAuth({ token: 'short' }), TypeError);
  });
});
