import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import util from 'node:util';
import { BasicAuth, ClientCredentialsAuth } from '../../alpaca/auth';
import { AlpacaClient } from '../../alpaca/client';
import { type FakeAlpaca, startFakeAlpaca } from '../../alpaca/fake-alpaca';
import { alpacaError, listen, type Listening } from './helpers';

describe('Alpaca outbound auth', () => {
  describe('BasicAuth', () => {
    it('sends key id : secret as HTTP Basic, and shows no secret when logged or serialised', async () => {
      const auth = new BasicAuth('AKID', 'very-secret-value');
      const headers = await auth.headers();
      assert.equal(headers.authorization, `Basic ${Buffer.from('AKID:very-secret-value').toString('base64')}`);
      for (const shown of [util.inspect(auth, { showHidden: true, depth: 5 }), JSON.stringify(auth), JSON.stringify({ auth })]) {
        assert.ok(!shown.includes('very-secret-value'));
        assert.ok(!shown.includes(Buffer.from('AKID:very-secret-value').toString('base64')));
      }
    });

    it('refuses a key id with a colon or an empty secret', () => {
      assert.throws(() => new BasicAuth('a:b', 'x'), TypeError);
      assert.throws(() => new BasicAuth('a', ''), TypeError);
    });
  });

  describe('ClientCredentialsAuth (tiny token endpoint)', () => {
    let endpoint: Listening;
    let answer: { status: number; body: unknown; delayMs?: number };
    beforeEach(async () => {
      answer = { status: 200, body: { access_token: 'tok-1', expires_in: 899, token_type: 'Bearer' } };
      endpoint = await listen(async (ctx) => {
        if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
        ctx.status = answer.status;
        ctx.body = answer.body;
      });
    });
    afterEach(() => endpoint.close());
    const tokenCalls = () => endpoint.received.length;

    it('posts client_secret_post credentials to {authUrl}/v1/oauth2/token and sends the token as Bearer', async () => {
      const auth = new ClientCredentialsAuth({ authUrl: `${endpoint.url}/`, clientId: 'cid', clientSecret: 'csecret' });
      assert.deepEqual(await auth.headers(), { authorization: 'Bearer tok-1' });
      const req = endpoint.received[0]!;
      assert.equal(req.method, 'POST');
      assert.equal(req.path, '/v1/oauth2/token');
      assert.match(String(req.headers['content-type']), /^application\/x-www-form-urlencoded/);
      assert.equal(req.headers.authorization, undefined, 'no client_secret_basic');
      assert.deepEqual(Object.fromEntries(new URLSearchParams(req.body)), { grant_type: 'client_credentials', client_id: 'cid', client_secret: 'csecret' });
    });

    it('reuses the token until shortly before expires_in, then fetches a new one', async () => {
      let now = 1_000_000;
      const auth = new ClientCredentialsAuth({ authUrl: endpoint.url, clientId: 'cid', clientSecret: 'csecret', now: () => now });
      for (let i = 0; i < 3; i++) await auth.headers();
      assert.equal(tokenCalls(), 1);
      now += 838_000; // 899 s − 60 s margin = 839 s
      await auth.headers();
      assert.equal(tokenCalls(), 1);
      answer.body = { access_token: 'tok-2', expires_in: 899, token_type: 'bearer' };
      now += 2_000;
      assert.deepEqual(await auth.headers(), { authorization: 'Bearer tok-2' });
      assert.equal(tokenCalls(), 2);
    });

    it('refreshes at half the life of a short token instead of never caching it', async () => {
      let now = 0;
      answer.body = { access_token: 'short', expires_in: 10 };
      const auth = new ClientCredentialsAuth({ authUrl: endpoint.url, clientId: 'cid', clientSecret: 'csecret', now: () => now });
      await auth.headers();
      now = 4_000;
      await auth.headers();
      assert.equal(tokenCalls(), 1);
      now = 5_000;
      await auth.headers();
      assert.equal(tokenCalls(), 2);
    });

    it('single-flights concurrent refreshes', async () => {
      answer.delayMs = 50;
      const auth = new ClientCredentialsAuth({ authUrl: endpoint.url, clientId: 'cid', clientSecret: 'csecret' });
      const all = await Promise.all(Array.from({ length: 10 }, () => auth.headers()));
      assert.equal(tokenCalls(), 1);
      assert.ok(all.every((h) => h.authorization === 'Bearer tok-1'));
    });

    it('reports a refused token request as final, an unavailable one as retryable, and tries again on the next call', async () => {
      const auth = new ClientCredentialsAuth({ authUrl: endpoint.url, clientId: 'cid', clientSecret: 'the-client-secret' });
      answer = { status: 401, body: { error: 'invalid_client', error_description: 'client_secret the-client-secret is wrong' } };
      const refused = await alpacaError(auth.headers());
      assert.deepEqual([refused.kind, refused.status, refused.retryable], ['auth', 401, false]);
      assert.match(refused.message, /invalid_client/);
      assert.ok(!refused.message.includes('the-client-secret'));
      answer = { status: 503, body: 'down' };
      const down = await alpacaError(auth.headers());
      assert.deepEqual([down.status, down.retryable], [503, true]);
      answer = { status: 200, body: { expires_in: 899 } };
      assert.equal((await alpacaError(auth.headers())).kind, 'invalid_response');
      answer = { status: 200, body: { access_token: 'tok-3', expires_in: 899 } };
      assert.deepEqual(await auth.headers(), { authorization: 'Bearer tok-3' });
      assert.equal(tokenCalls(), 4);
    });

    it('times out a silent token endpoint as a retryable error', async () => {
      answer.delayMs = 500;
      const auth = new ClientCredentialsAuth({ authUrl: endpoint.url, clientId: 'cid', clientSecret: 'csecret', timeoutMs: 50 });
      const err = await alpacaError(auth.headers());
      assert.deepEqual([err.kind, err.status, err.retryable], ['auth', 0, true]);
    });
  });

  describe('ClientCredentialsAuth against the fake Alpaca', () => {
    let fake: FakeAlpaca;
    const credentials = { keyId: 'oauth-client', secret: crypto.randomBytes(16).toString('hex') };
    beforeEach(async () => {
      fake = await startFakeAlpaca({ issuerBaseUrl: 'http://127.0.0.1:1', issuerAuth: { apiKey: 'unused' }, credentials });
    });
    afterEach(() => fake.close());
    const clientWith = (auth: ClientCredentialsAuth) => new AlpacaClient({ baseUrl: fake.url, accountId: fake.accountId, auth, timeoutMs: 2_000 });

    it('fetches one token for many calls, sequential and concurrent', async () => {
      const client = clientWith(new ClientCredentialsAuth({ authUrl: fake.url, clientId: credentials.keyId, clientSecret: credentials.secret }));
      for (let i = 0; i < 3; i++) assert.equal(await client.getRequest(crypto.randomUUID()), null);
      await Promise.all(Array.from({ length: 5 }, () => client.getRequestByIssuerRequestId('x')));
      assert.equal(fake.tokenRequests, 1);
    });

    it('makes a 401 on an older cached token retryable and recovers with a new token', async () => {
      const client = clientWith(new ClientCredentialsAuth({ authUrl: fake.url, clientId: credentials.keyId, clientSecret: credentials.secret, freshTokenMs: 0 }));
      await client.getRequest(crypto.randomUUID());
      fake.behaviour.revokeTokens();
      const err = await alpacaError(client.getRequest(crypto.randomUUID()));
      assert.deepEqual([err.status, err.alpacaCode, err.retryable], [401, 40110000, true]);
      assert.equal(await client.getRequest(crypto.randomUUID()), null);
      assert.equal(fake.tokenRequests, 2);
    });

    it('keeps a 401 on a token just issued final (a new token would not help)', async () => {
      const client = clientWith(new ClientCredentialsAuth({ authUrl: fake.url, clientId: credentials.keyId, clientSecret: credentials.secret }));
      await client.getRequest(crypto.randomUUID());
      fake.behaviour.revokeTokens();
      const err = await alpacaError(client.getRequest(crypto.randomUUID()));
      assert.deepEqual([err.status, err.retryable], [401, false]);
    });

    it('gets a final auth error for a wrong client secret, before any Broker API call', async () => {
      const client = clientWith(new ClientCredentialsAuth({ authUrl: fake.url, clientId: credentials.keyId, clientSecret: 'wrong' }));
      const err = await alpacaError(client.getRequest(crypto.randomUUID()));
      assert.deepEqual([err.kind, err.status, err.retryable], ['auth', 401, false]);
      assert.match(err.message, /invalid_client/);
    });
  });
});
