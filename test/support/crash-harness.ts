import crypto from 'node:crypto';
import path from 'node:path';
import { JsonRpcProvider } from 'ethers';
import { type FakeAlpaca, startFakeAlpaca } from '../../alpaca/fake-alpaca';
import { type SandboxChain, startSandboxChain } from '../../chain/sandbox-chain';
import { type ChildService, spawnService } from './child-service';
import { tempDir } from './service';
import { testDatabaseEnv } from './test-database';

/**
 * A devnet and a fake Alpaca owned by the test, and the service as a child process (as production runs
 * it) that the test can SIGKILL at a named failpoint and start again on the same database.
 */
export interface CrashHarness {
  chain: SandboxChain;
  provider: JsonRpcProvider;
  alpaca: FakeAlpaca;
  /** The credential Alpaca presents to the service (benchmarks call the service as Alpaca does). */
  alpacaApiKey: string;
  spawn(dataDir: string, crashAt?: string, extraEnv?: Record<string, string>): Promise<ChildService>;
  operator(svc: ChildService, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }>;
  waitForFlow(svc: ChildService, flowId: string, state: string, timeoutMs?: number): Promise<any>;
  /** Registers an AP with the sandbox AP wallet (and the asset if missing) and links it; returns its client id. */
  seed(svc: ChildService, email: string): Promise<string>;
  close(): Promise<void>;
}

export async function startCrashHarness(): Promise<CrashHarness> {
  const apiKey = crypto.randomBytes(20).toString('hex');
  const operatorToken = crypto.randomBytes(20).toString('hex');
  const credentials = { keyId: 'crash-test', secret: crypto.randomBytes(20).toString('hex') };
  const accountId = crypto.randomUUID();
  const chain = await startSandboxChain(path.join(tempDir('issuance-crash-chain-'), 'chain'));
  const provider = new JsonRpcProvider(chain.devnet.rpcUrl, chain.devnet.chainId, { staticNetwork: true, cacheTimeout: -1 });
  const alpaca = await startFakeAlpaca({ issuerBaseUrl: 'http://127.0.0.1:1', issuerAuth: { apiKey }, accountId, credentials });

  const env = (dataDir: string, crashAt?: string): Record<string, string> => ({
    ISSUANCE_MODE: 'production',
    DATA_DIR: dataDir,
    ...testDatabaseEnv(dataDir),
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
    REDEMPTION_POLL_INTERVAL_MS: '200',
    TRANSFER_POLL_MS: '200',
    ISSUANCE_CRASH_AT: crashAt ?? '',
    // The tests poll flows every 50 ms and drive hundreds of requests: no rate limits here.
    OPERATOR_RATE_LIMIT_PER_MINUTE: '0',
    // On PostgreSQL a restarted process cannot know its predecessor is dead: it takes over after the lease.
    OUTBOX_LEASE_MS: '3000',
    ALPACA_RATE_LIMIT_PER_MINUTE: '0',
  });

  const harness: CrashHarness = {
    chain,
    provider,
    alpaca,
    alpacaApiKey: apiKey,
    async spawn(dataDir, crashAt, extraEnv = {}) {
      const svc = await spawnService({ ...env(dataDir, crashAt), ...extraEnv });
      alpaca.issuerBaseUrl = svc.url;
      return svc;
    },
    async operator(svc, method, p, body) {
      const res = await fetch(`${svc.url}${p}`, { method, headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    },
    async waitForFlow(svc, flowId, state, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await harness.operator(svc, 'GET', `/operator/flows/${encodeURIComponent(flowId)}`);
        if (res.body.flow?.state === state) return res.body;
        if (Date.now() > deadline) throw new Error(`flow ${flowId} stuck in ${res.body.flow?.state ?? `(${res.status} ${JSON.stringify(res.body).slice(0, 300)})`}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async seed(svc, email) {
      const ap = await harness.operator(svc, 'POST', '/operator/aps', { email, wallets: [{ network: 'base', address: chain.apAccount.address }] });
      if (ap.status !== 201) throw new Error(`register failed: ${JSON.stringify(ap.body)}`);
      const existing = await harness.operator(svc, 'GET', '/operator/assets');
      if (!existing.body.assets.length) {
        const added = await harness.operator(svc, 'POST', '/operator/assets', { underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', vault_address: chain.vault.vault });
        if (added.status !== 201) throw new Error('asset add failed');
      }
      const linked = await alpaca.connect(email, `ACC-${crypto.randomUUID().slice(0, 8)}`);
      if (linked.status !== 200) throw new Error('link failed');
      return linked.body.client_external_account_id;
    },
    async close() {
      provider.destroy();
      await alpaca.close();
      await chain.devnet.stop();
    },
  };
  return harness;
}
