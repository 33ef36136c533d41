import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONFIG_VARIABLES, loadConfig } from '../../server/config';

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

  it('names the variable at fault, and never echoes its value', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PORT: 'eighty' }, /^PORT: /],
      [{ ISSUANCE_MODE: 'staging' }, /^ISSUANCE_MODE: /],
      [{ TRUST_PROXY: 'yes' }, /^TRUST_PROXY: /],
      [{ ALPACA_RATE_LIMIT_PER_MINUTE: '-1' }, /^ALPACA_RATE_LIMIT_PER_MINUTE: /],
      [{ OPERATOR_IP_ALLOWLIST: '10.0.0.0/40' }, /^OPERATOR_IP_ALLOWLIST: bad prefix/],
      [{ OPERATOR_TOKEN: 'short-secret' }, /^OPERATOR_TOKEN: /],
      [{ OPERATOR_TOKENS_FILE: '/nonexistent/operators.json' }, /^OPERATOR_TOKENS_FILE: cannot read/],
      [{ ALPACA_INBOUND_SIGNATURE_KEYS_FILE: '/nonexistent/keys.json' }, /^ALPACA_INBOUND_SIGNATURE_KEYS_FILE: cannot read/],
    ];
    for (const [source, expected] of cases) {
      assert.throws(() => loadConfig(source), (err: Error) => {
        assert.match(err.message, expected);
        assert.ok(!err.message.includes('short-secret'), 'the value stays out of the message');
        return true;
      });
    }
  });

  it('reads a config file (JSON or NAME=value lines); the environment overrides it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'issuance-config-'));
    const json = path.join(dir, 'config.json');
    fs.writeFileSync(json, JSON.stringify({ PORT: 9100, LOG_LEVEL: 'warn', TRUST_PROXY: true, OPERATOR_IP_ALLOWLIST: '10.0.0.0/8' }));
    const fromJson = loadConfig({ CONFIG_FILE: json, LOG_LEVEL: 'debug' });
    assert.equal(fromJson.port, 9100);
    assert.equal(fromJson.logLevel, 'debug', 'the environment wins');
    assert.equal(fromJson.access?.trustProxy, true);
    assert.ok(fromJson.access?.operatorAllowList?.check('10.9.9.9'));

    const env = path.join(dir, 'issuance.env');
    fs.writeFileSync(env, '# issuer settings\nPORT=9200\nSTUCK_FLOW_MINUTES="45"\n\nALPACA_RATE_LIMIT_PER_MINUTE=0\n');
    const fromEnv = loadConfig({ CONFIG_FILE: env });
    assert.equal(fromEnv.port, 9200);
    assert.equal(fromEnv.stuckFlowMinutes, 45);
    assert.equal(fromEnv.access?.alpacaRateLimit, undefined, '0 turns the limit off');
    assert.deepEqual(fromEnv.access?.operatorRateLimit, { points: 300, windowSeconds: 60 });

    fs.writeFileSync(env, 'PORT=9200\nPROT=1\n');
    assert.throws(() => loadConfig({ CONFIG_FILE: env }), /unknown variable PROT/);
    fs.writeFileSync(env, 'this is not a setting\n');
    assert.throws(() => loadConfig({ CONFIG_FILE: env }), /line 1 is not NAME=value/);
    assert.throws(() => loadConfig({ CONFIG_FILE: path.join(dir, 'missing.json') }), /^Error: CONFIG_FILE: cannot read|CONFIG_FILE: cannot read/);
  });

  it('takes named operators from a file and requires them (or OPERATOR_TOKEN) in production', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'issuance-config-'));
    const file = path.join(dir, 'operators.json');
    fs.writeFileSync(file, JSON.stringify({ alice: 'a'.repeat(24), bob: 'b'.repeat(24) }));
    const { OPERATOR_TOKEN: _omitted, ...rest } = production;
    const c = loadConfig({ ...rest, ALPACA_API_KEY_ID: 'id', ALPACA_API_SECRET: 'secret', OPERATOR_TOKENS_FILE: file });
    assert.deepEqual([...c.operators!.keys()], ['alice', 'bob']);
    assert.throws(() => loadConfig({ ...rest, ALPACA_API_KEY_ID: 'id', ALPACA_API_SECRET: 'secret' }), /OPERATOR_TOKEN or OPERATOR_TOKENS_FILE/);
    fs.writeFileSync(file, JSON.stringify({ alice: 'short' }));
    assert.throws(() => loadConfig({ OPERATOR_TOKENS_FILE: file }), /OPERATOR_TOKENS_FILE: must map/);
  });

  it('documents every variable in the README', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const missing = [...CONFIG_VARIABLES, 'CONFIG_FILE'].filter((v) => !readme.includes(`\`${v}\``));
    assert.deepEqual(missing, []);
  });
});
