import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { signRequest } from '../../server/auth';
import { count } from '../support/fixtures';
import { startTestService, type TestService } from '../support/service';

const WALLET = '0x' + 'ab'.repeat(20);
const VAULT = '0x' + 'cd'.repeat(20);

describe('HTTP: auth, validation, account linking, asset registry', () => {
  let svc: TestService;
  beforeEach(async () => {
    svc = await startTestService();
  });
  afterEach(() => svc.close());

  async function journalRows() {
    return count(svc.db, 'journal');
  }

  describe('authentication', () => {
    beforeEach(async () => {
      await svc.operator('POST', '/operator/aps', { email: 'desk@ap.example', wallets: [{ network: 'ethereum', address: WALLET }] });
    });

    it('accepts X-API-KEY and a correct RFC 9421 signature on Alpaca-facing endpoints', async () => {
      const a = await svc.alpaca('POST', '/tokenization/accounts/connect', { email: 'desk@ap.example', client_account_number: 'ACC-1' }, 'api-key');
      assert.equal(a.status, 200);
      const b = await svc.alpaca('POST', '/tokenization/accounts/connect', { email: 'desk@ap.example', client_account_number: 'ACC-1' }, 'signature');
      assert.equal(b.status, 200);
      assert.deepEqual(a.body, b.body);
      const g = await svc.alpaca('GET', '/tokenization/tokens', undefined, 'signature');
      assert.equal(g.status, 200);
    });

    it('answers 401 with a stable code for missing, wrong, tampered, replayed or stale credentials, and writes nothing', async () => {
      const before = await journalRows();
      const body = { email: 'desk@ap.example', client_account_number: 'ACC-1' };
      const missing = await svc.alpaca('POST', '/tokenization/accounts/connect', body, 'none');
      assert.deepEqual([missing.status, missing.body.code], [401, 'missing_credentials']);

      const url = `${svc.url}/tokenization/accounts/connect`;
      const wrongKey = await fetch(url, { method: 'POST', headers: { 'x-api-key': 'x'.repeat(40), 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(wrongKey.status, 401);
      assert.equal(((await wrongKey.json()) as any).code, 'invalid_api_key');

      const raw = Buffer.from(JSON.stringify(body));
      const headers = { 'content-type': 'application/json' };
      const signed = signRequest({ method: 'POST', targetUri: url, headers, rawBody: raw }, { keyid: svc.keyid, privateKey: svc.signingKey });
      const tampered = await fetch(url, { method: 'POST', headers: { ...headers, ...signed }, body: JSON.stringify({ ...body, client_account_number: 'ACC-2' }) });
      assert.equal(tampered.status, 401);
      assert.equal(((await tampered.json()) as any).code, 'content_digest_mismatch');

      const first = await fetch(url, { method: 'POST', headers: { ...headers, ...signed }, body: raw });
      assert.equal(first.status, 200);
      const replay = await fetch(url, { method: 'POST', headers: { ...headers, ...signed }, body: raw });
      assert.equal(replay.status, 401);
      assert.equal(((await replay.json()) as any).code, 'replayed_nonce');

      const stale = signRequest({ method: 'POST', targetUri: url, headers, rawBody: raw }, { keyid: svc.keyid, privateKey: svc.signingKey, created: Math.floor(Date.now() / 1000) - 3600 });
      const staleRes = await fetch(url, { method: 'POST', headers: { ...headers, ...stale }, body: raw });
      assert.equal(staleRes.status, 401);
      assert.equal(((await staleRes.json()) as any).code, 'stale_signature');

      const otherKey = crypto.generateKeyPairSync('ed25519').privateKey;
      const forged = signRequest({ method: 'POST', targetUri: url, headers, rawBody: raw }, { keyid: svc.keyid, privateKey: otherKey });
      const forgedRes = await fetch(url, { method: 'POST', headers: { ...headers, ...forged }, body: raw });
      assert.equal(forgedRes.status, 401);
      assert.equal(((await forgedRes.json()) as any).code, 'invalid_signature');

      // Only the one good request linked the account.
      assert.equal(await journalRows(), before + 1);
    });

    it('keeps operator and Alpaca credentials apart', async () => {
      const withAlpacaKey = await fetch(`${svc.url}/operator/assets`, { headers: { 'x-api-key': svc.apiKey } });
      assert.equal(withAlpacaKey.status, 401);
      const withOperatorToken = await fetch(`${svc.url}/tokenization/tokens`, { headers: { authorization: `Bearer ${svc.operatorToken}` } });
      assert.equal(withOperatorToken.status, 401);
      const wrongToken = await fetch(`${svc.url}/operator/assets`, { headers: { authorization: 'Bearer ' + 'z'.repeat(40) } });
      assert.equal(wrongToken.status, 401);
      assert.equal(((await wrongToken.json()) as any).code, 'invalid_operator_token');
    });

    it('never puts a credential in an error body', async () => {
      const res = await fetch(`${svc.url}/tokenization/tokens`, { headers: { 'x-api-key': svc.apiKey.slice(0, -1) + 'Z' } });
      const text = await res.text();
      assert.equal(res.status, 401);
      assert.ok(!text.includes(svc.apiKey.slice(0, 10)));
    });
  });

  describe('input validation', () => {
    it('answers 4xx with stable codes for malformed, mistyped, incomplete or oversized bodies, and writes nothing', async () => {
      const before = await journalRows();
      const url = `${svc.url}/tokenization/accounts/connect`;
      const post = (body: string, type = 'application/json') => fetch(url, { method: 'POST', headers: { 'x-api-key': svc.apiKey, 'content-type': type }, body });
      const cases: Array<[string, string, number, string]> = [
        ['malformed JSON', '{"email": ', 400, 'malformed_json'],
        ['array body', '[1,2]', 400, 'invalid_request'],
        ['wrong type', JSON.stringify({ email: 42, client_account_number: 'A' }), 400, 'invalid_request'],
        ['missing field', JSON.stringify({ email: 'x@y.example' }), 400, 'invalid_request'],
        ['both names', JSON.stringify({ email: 'x@y.example', client_account_number: 'A', account: 'B' }), 400, 'invalid_request'],
        ['oversized', JSON.stringify({ email: 'x@y.example', client_account_number: 'A'.repeat(70 * 1024) }), 413, 'body_too_large'],
      ];
      for (const [name, body, status, code] of cases) {
        const res = await post(body);
        const json = (await res.json()) as any;
        assert.equal(res.status, status, name);
        assert.equal(json.code, code, name);
        assert.equal(typeof json.message, 'string', name);
      }
      const wrongType = await post('email=x', 'application/x-www-form-urlencoded');
      assert.equal(wrongType.status, 415);
      assert.equal(await journalRows(), before);
    });

    it('answers unknown routes with a JSON 404', async () => {
      const res = await svc.alpaca('GET', '/tokenization/nope');
      assert.deepEqual([res.status, res.body.code], [404, 'route_not_found']);
    });
  });

  describe('account linking', () => {
    let apId: string;
    beforeEach(async () => {
      const res = await svc.operator('POST', '/operator/aps', { email: 'Desk@AP.example', name: 'AP Desk', wallets: [{ network: 'ethereum', address: WALLET.toUpperCase().replace('0X', '0x') }] });
      assert.equal(res.status, 201);
      apId = res.body.apId;
    });

    it('links on both paths, answering in each path\'s shape, and relinking the same pair is idempotent', async () => {
      const current = await svc.alpaca('POST', '/tokenization/accounts/connect', { email: 'desk@ap.example', client_account_number: 'ACC-9' });
      assert.deepEqual([current.status, current.body], [200, { client_external_account_id: apId }]);
      const legacy = await svc.alpaca('POST', '/accounts/connect', { email: 'desk@ap.example', account: 'ACC-9' });
      assert.deepEqual([legacy.status, legacy.body], [200, { client_id: apId }]);
      assert.equal(await count(svc.db, 'journal', { type: 'account.linked' }), 1);
      const view = await svc.db('account_links').where({ ap_id: apId }).first();
      assert.equal(view.client_account_number, 'ACC-9');
    });

    it('answers 404 for an unknown e-mail and 409 for an account already linked', async () => {
      const unknown = await svc.alpaca('POST', '/tokenization/accounts/connect', { email: 'nobody@ap.example', client_account_number: 'ACC-1' });
      assert.deepEqual([unknown.status, unknown.body.code], [404, 'account_not_found']);
      await svc.alpaca('POST', '/tokenization/accounts/connect', { email: 'desk@ap.example', client_account_number: 'ACC-1' });
      const other = await svc.alpaca('POST', '/tokenization/accounts/connect', { email: 'desk@ap.example', client_account_number: 'ACC-2' });
      assert.deepEqual([other.status, other.body.code], [409, 'account_already_linked']);
      await svc.operator('POST', '/operator/aps', { email: 'second@ap.example', wallets: [] });
      const taken = await svc.alpaca('POST', '/tokenization/accounts/connect', { email: 'second@ap.example', client_account_number: 'ACC-1' });
      assert.deepEqual([taken.status, taken.body.code], [409, 'account_already_linked']);
    });

    it('stores wallets canonical and refuses one registered to another AP', async () => {
      const ap = await svc.operator('GET', '/operator/aps');
      assert.equal(ap.body.authorized_participants[0].wallets[0].address, WALLET);
      const clash = await svc.operator('POST', '/operator/aps', { email: 'other@ap.example', wallets: [{ network: 'ethereum', address: WALLET }] });
      assert.deepEqual([clash.status, clash.body.code], [409, 'wallet_already_registered']);
      const bad = await svc.operator('POST', '/operator/aps', { email: 'bad@ap.example', wallets: [{ network: 'ethereum', address: '0x1234' }] });
      assert.deepEqual([bad.status, bad.body.code], [400, 'invalid_wallet']);
    });
  });

  describe('tokenized-asset registry', () => {
    it('adds, lists on both paths, halts and resumes, each change a journal event', async () => {
      const added = await svc.operator('POST', '/operator/assets', { underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'ethereum', vault_address: VAULT, decimals: 18 });
      assert.equal(added.status, 201);
      await svc.operator('POST', '/operator/assets', { underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', vault_address: VAULT, decimals: 18 });
      const id = added.body.asset_id;

      const tokens = await svc.alpaca('GET', '/tokenization/tokens');
      assert.deepEqual(tokens.body, { tokens: [{ underlying: 'AAPL', token: 'tAAPL', networks: ['base', 'ethereum'] }] });
      const legacy = await svc.alpaca('GET', '/tokenized-assets');
      assert.deepEqual(legacy.body, [
        { underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base' },
        { underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'ethereum' },
      ]);

      const halted = await svc.operator('POST', `/operator/assets/${id}/halt`, { reason: 'corporate action' });
      assert.deepEqual([halted.body.halted, halted.body.halt_reason], [true, 'corporate action']);
      const afterHalt = await svc.alpaca('GET', '/tokenization/tokens');
      assert.deepEqual(afterHalt.body.tokens[0].networks, ['base']);
      await svc.operator('POST', `/operator/assets/${id}/resume`);
      await svc.operator('POST', `/operator/assets/${id}/disable`);
      assert.deepEqual((await svc.alpaca('GET', '/tokenization/tokens')).body.tokens[0].networks, ['base']);

      const types = (await svc.db('journal').where({ flow_id: `asset:${id}` }).orderBy('seq')).map((r: any) => r.type);
      assert.deepEqual(types, ['asset.added', 'asset.halted', 'asset.resumed', 'asset.disabled']);
    });

    it('refuses a duplicate, an unsupported network and a bad vault address', async () => {
      const body = { underlying_symbol: 'TSLA', token_symbol: 'tTSLA', network: 'ethereum', vault_address: VAULT };
      assert.equal((await svc.operator('POST', '/operator/assets', body)).status, 201);
      const dup = await svc.operator('POST', '/operator/assets', body);
      assert.deepEqual([dup.status, dup.body.code], [409, 'asset_already_exists']);
      const sol = await svc.operator('POST', '/operator/assets', { ...body, network: 'solana' });
      assert.deepEqual([sol.status, sol.body.code], [400, 'network_not_supported']);
      const badVault = await svc.operator('POST', '/operator/assets', { ...body, network: 'base', vault_address: 'nope' });
      assert.deepEqual([badVault.status, badVault.body.code], [400, 'invalid_vault_address']);
      const missing = await svc.operator('POST', '/operator/assets/01HZZZZZZZZZZZZZZZZZZZZZZZ/halt', { reason: 'x' });
      assert.deepEqual([missing.status, missing.body.code], [404, 'asset_not_found']);
    });
  });

  describe('health', () => {
    it('answers live and ready without credentials', async () => {
      const live = await fetch(`${svc.url}/health/live`);
      assert.equal(live.status, 200);
      const ready = (await (await fetch(`${svc.url}/health/ready`)).json()) as any;
      assert.equal(ready.database, 'ok');
    });
  });
});
