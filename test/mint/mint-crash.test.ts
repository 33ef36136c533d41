import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { JsonRpcProvider } from 'ethers';
import { type FakeAlpaca, startFakeAlpaca } from '../../alpaca/fake-alpaca';
import { type SandboxChain, startSandboxChain } from '../../chain/sandbox-chain';
import { depositsByRequest } from '../support/chain-evidence';
import { type ChildService, spawnService } from '../support/child-service';
import { tempDir } from '../support/service';

/**
 * The service runs as its own process and is killed with SIGKILL at a named point of the mint; after a
 * restart on the same database, each flow must finish with exactly one deposit and one callback.
 */
describe('mint survives SIGKILL at its riskiest moments', function () {
  this.timeout(120_000);
  let chain: SandboxChain;
  let provider: JsonRpcProvider;
  let alpaca: FakeAlpaca;
  const apiKey = crypto.randomBytes(20).toString('hex');
  const operatorToken = crypto.randomBytes(20).toString('hex');
  const credentials = { keyId: 'crash-test', secret: crypto.randomBytes(20).toString('hex') };
  const accountId = crypto.randomUUID();

  before(async () => {
    chain = await startSandboxChain(path.join(tempDir('issuance-crash-chain-'), 'chain'));
    provider = new JsonRpcProvider(chain.devnet.rpcUrl, chain.devnet.chainId, { staticNetwork: true, cacheTimeout: -1 });
    alpaca = await startFakeAlpaca({ issuerBaseUrl: 'http://127.0.0.1:1', issuerAuth: { apiKey }, accountId, credentials });
  });
  after(async () => {
    provider?.destroy();
    await alpaca?.close();
    await chain?.devnet.stop();
  });

  function envFor(dataDir: string, crashAt?: string): Record<string, string> {
    return {
      ISSUANCE_MODE: 'production',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ALPACA_INBOUND_API_KEY: apiKey,
      OPERATOR_TOKEN: operatorToken,
      CHAIN_NETWORK: 'base',
      RPC_URL: chain.devnet.rpcUrl,
      CHAIN_ID: String(chain.devnet.chainId),
      CONFIRMATIONS: '1',
      ISSUER_KEYSTORE_FILE: chain.keystoreFile,
      ISSUER_KEYSTORE_PASSWORD_FILE: chain.keystorePasswordFile,
      ALPACA_API_BASE_URL: alpaca.url,
      ALPACA_ACCOUNT_ID: accountId,
      ALPACA_API_KEY_ID: credentials.keyId,
      ALPACA_API_SECRET: credentials.secret,
      ISSUANCE_CRASH_AT: crashAt ?? '',
    };
  }

  async function operator(svc: ChildService, method: string, p: string, body?: unknown) {
    const res = await fetch(`${svc.url}${p}`, { method, headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  }

  async function waitForFlow(svc: ChildService, flowId: string, state: string): Promise<any> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await operator(svc, 'GET', `/operator/flows/${encodeURIComponent(flowId)}`);
      if (res.body.flow?.state === state) return res.body;
      if (Date.now() > deadline) throw new Error(`flow ${flowId} stuck in ${res.body.flow?.state}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  for (const crashAt of ['txmanager.afterPersist.mint', 'txmanager.afterBroadcast.mint', 'outbox.before.notifyAlpacaOfMint']) {
    it(`killed at ${crashAt}: one deposit and one callback after restart`, async () => {
      const dataDir = tempDir('issuance-crash-');
      let svc = await spawnService(envFor(dataDir, crashAt));
      alpaca.issuerBaseUrl = svc.url;
      const email = `${crashAt}@ap.example`;
      await operator(svc, 'POST', '/operator/aps', { email, wallets: [{ network: 'base', address: chain.apAccount.address }] }).then((r) => assert.equal(r.status, 201));
      const existing = await operator(svc, 'GET', '/operator/assets');
      if (!existing.body.assets.length) {
        await operator(svc, 'POST', '/operator/assets', { underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', vault_address: chain.vault.vault }).then((r) => assert.equal(r.status, 201));
      }
      const linked = await alpaca.connect(email, `ACC-${crypto.randomUUID().slice(0, 8)}`);
      assert.equal(linked.status, 200);
      const trid = crypto.randomUUID();
      const created = await alpaca.requestMint({ tokenization_request_id: trid, qty: '4.2', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: chain.apAccount.address, client_external_account_id: linked.body.client_external_account_id });
      assert.equal(created.status, 200);
      // The confirm's answer may be lost if the crash comes fast; Alpaca retries on a timeout, so the test does too.
      await alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed').catch(() => undefined);
      const exit = await svc.exited;
      assert.equal(exit.signal, 'SIGKILL', `the process should have died at ${crashAt}: ${svc.stderr()}`);
      assert.match(svc.stderr(), new RegExp(`failpoint ${crashAt.replace(/\./g, '\\.')}`));

      svc = await spawnService(envFor(dataDir));
      try {
        alpaca.issuerBaseUrl = svc.url;
        const again = await alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
        assert.equal(again.status, 200);
        const done = await waitForFlow(svc, `mint:${trid}`, 'completed');
        assert.equal((await depositsByRequest(provider, chain.vault.vault)).get(trid), 1, 'exactly one deposit on chain');
        const callbacks = alpaca.callbacksFor(trid);
        assert.equal(callbacks.length, 1, 'exactly one callback');
        assert.equal(callbacks[0]!.body.tx_hash, done.flow.snapshot.context.txHash);
      } finally {
        await svc.kill('SIGTERM');
      }
    });
  }
});
