import assert from 'node:assert/strict';
import { loadConfig } from '../../server/config';

/** The environment is parsed once, and production refuses to start without what it needs. */
describe('configuration', () => {
  const production = {
    ISSUANCE_MODE: 'production',
    ALPACA_INBOUND_API_KEY: 'k'.repeat(32),
    OPERATOR_TOKEN: 'o'.repeat(32),
    RPC_URL: 'http://127.0.0.1:8545',
    ISSUER_KEYSTORE_FILE: '/secrets/keystore.json',
    ISSUER_KEYSTORE_PASSWORD_FILE: '/secrets/password',
    ALPACA_API_BASE_URL: 'https://broker-api.sandbox.alpaca.markets',
    ALPACA_ACCOUNT_ID: '5f9bb5c9-7d2e-4bd4-9f8c-6c2a8b2f1d11',
  };

  it('defaults to the sandbox on SQLite with nothing configured', () => {
    const c = loadConfig({});
    assert.equal(c.mode, 'sandbox');
    assert.equal(c.port, 8080);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.chain, undefined);
  });

  it('refuses production without credentials, naming what is missing (never their values)', () => {
    assert.throws(() => loadConfig({ ISSUANCE_MODE: 'production' }), /OPERATOR_TOKEN.*RPC_URL/s);
    assert.throws(() => loadConfig(production), /ALPACA_API_KEY_ID \+ ALPACA_API_SECRET or ALPACA_OAUTH_CLIENT_ID/);
  });

  it('takes Basic or OAuth2 client credentials for Alpaca', () => {
    const basic = loadConfig({ ...production, ALPACA_API_KEY_ID: 'id', ALPACA_API_SECRET: 'secret' });
    assert.deepEqual([basic.alpaca?.keyId, basic.alpaca?.oauth], ['id', undefined]);
    assert.equal(basic.chain?.confirmations, 12, 'production waits for 12 confirmations unless told');
    const oauth = loadConfig({ ...production, ALPACA_OAUTH_CLIENT_ID: 'cid', ALPACA_OAUTH_CLIENT_SECRET: 'cs' });
    assert.deepEqual(oauth.alpaca?.oauth, { authUrl: 'https://authx.alpaca.markets', clientId: 'cid', clientSecret: 'cs' });
  });

  it('rejects malformed values with a clear error', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }));
    assert.throws(() => loadConfig({ ISSUANCE_MODE: 'staging' }));
  });
});
