import crypto from 'node:crypto';
import path from 'node:path';
import { JsonRpcProvider, Wallet } from 'ethers';
import pino from 'pino';
import { type FakeAlpaca, startFakeAlpaca } from '../../alpaca/fake-alpaca';
import { type SandboxChain, startSandboxChain } from '../../chain/sandbox-chain';
import { startDevnet } from '../../chain/devnet';
import { AdjustableClock } from '../../core/clock';
import type { ServiceConfig } from '../../server/config';
import { type IssuanceOptions, type IssuanceService, startIssuanceService } from '../../server/issuance-service';
import type { Service } from '../../server/service';
import { tempDir } from './service';
import { testDatabaseConfig } from './test-database';
import { apiConformance } from './api-conformance';
import { type RpcProxy, startRpcProxy } from './rpc-proxy';

export const AP_EMAIL = 'desk@ap.example';
export const AP_ACCOUNT = 'ALPACA-ACC-1';

export interface MintEnv {
  /** The service reaches the node through this proxy, so a test can cut it off. */
  rpc: RpcProxy;
  dir: string;
  chain: SandboxChain;
  provider: JsonRpcProvider;
  alpaca: FakeAlpaca;
  config: ServiceConfig;
  svc: IssuanceService;
  clock: AdjustableClock;
  apId: string;
  assetId: string;
  apWallet: string;
  operatorToken: string;
  apiKey: string;
  operator(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Restarts the service on the same database and chain (a new process would do the same). */
  restart(options?: IssuanceOptions): Promise<void>;
  /** Stops the node and starts it again from its saved state (same chain, same blocks, a new port). */
  restartNode(): Promise<void>;
  close(): Promise<void>;
}

export function mintEnvConfig(dir: string, chain: SandboxChain, alpaca: { url: string; accountId: string; keyId: string; secret: string }, apiKey: string, operatorToken: string): ServiceConfig {
  return {
    mode: 'sandbox',
    port: 0,
    host: '127.0.0.1',
    dataDir: dir,
    logLevel: 'silent',
    bodyLimitBytes: 64 * 1024,
    inbound: { apiKey, signatureKeys: new Map(), maxAgeSeconds: 300 },
    operatorToken,
    chainNetwork: 'base',
    alpacaTimeoutMs: 2_000,
    mint: { journalTimeoutMs: 60_000, callbackMaxAttempts: 3 },
    redemption: { pollIntervalMs: 200, deadlineMs: 60_000, transferPollMs: 100, transferMaxRange: 500 },
    ...testDatabaseConfig(dir),
    chain: { network: 'base', rpcUrl: chain.devnet.rpcUrl, chainId: chain.devnet.chainId, confirmations: 1, keystoreFile: chain.keystoreFile, keystorePasswordFile: chain.keystorePasswordFile },
    alpaca: { baseUrl: alpaca.url, accountId: alpaca.accountId, keyId: alpaca.keyId, secret: alpaca.secret, timeoutMs: 2_000 },
  };
}

const FAST_RETRIES: IssuanceOptions = {
  runner: { pollMs: 20 },
  timerPollMs: 50,
  mint: { confirmWaitMs: 2_000, callbackRetry: { baseMs: 20, capMs: 100, maxAttempts: 3 } },
  redemption: { confirmWaitMs: 2_000, alpacaRetry: { baseMs: 20, capMs: 100, maxAttempts: 4 } },
  poller: { pollMs: 100 },
};

/** A real devnet with the vault, the fake Alpaca over HTTP, and the service, seeded with one asset and one linked AP. */
export async function startMintEnv(options: IssuanceOptions = {}, setup: { log?: pino.Logger; config?: Partial<ServiceConfig> } = {}): Promise<MintEnv> {
  const dir = tempDir('issuance-mint-');
  const statePath = path.join(dir, 'anvil-state.json');
  const chain = await startSandboxChain(path.join(dir, 'chain'), { statePath });
  let provider = new JsonRpcProvider(chain.devnet.rpcUrl, chain.devnet.chainId, { staticNetwork: true, cacheTimeout: -1 });
  const apiKey = crypto.randomBytes(20).toString('hex');
  const operatorToken = crypto.randomBytes(20).toString('hex');
  const credentials = { keyId: 'test-issuer', secret: crypto.randomBytes(20).toString('hex') };
  const accountId = crypto.randomUUID();
  // The issuer's port is not known yet; the fake learns it right after the service listens.
  const alpaca = await startFakeAlpaca({ issuerBaseUrl: 'http://127.0.0.1:1', issuerAuth: { apiKey }, accountId, credentials });
  const rpc = await startRpcProxy(chain.devnet.rpcUrl);
  const config = mintEnvConfig(dir, chain, { url: alpaca.url, accountId, ...credentials }, apiKey, operatorToken);
  config.chain = { ...config.chain!, rpcUrl: rpc.url };
  Object.assign(config, setup.config);
  const clock = new AdjustableClock();
  const log = setup.log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  let svc = await startIssuanceService(config, log, { clock, onResponse: apiConformance.observer(), ...FAST_RETRIES, ...options, poller: { ...FAST_RETRIES.poller, ...options.poller } });
  alpaca.issuerBaseUrl = svc.url;

  const asset = await svc.assets.add({ underlyingSymbol: 'AAPL', tokenSymbol: 'tAAPL', network: 'base', vaultAddress: chain.vault.vault, decimals: 18 });
  const ap = await svc.accounts.register({ email: AP_EMAIL, wallets: [{ network: 'base', address: chain.apAccount.address }] });
  const linked = await alpaca.connect(AP_EMAIL, AP_ACCOUNT);
  if (linked.status !== 200) throw new Error(`link failed ${linked.status}`);

  const env: MintEnv = {
    dir,
    rpc,
    chain,
    provider,
    alpaca,
    config,
    svc,
    clock,
    apId: ap.apId,
    assetId: asset.assetId,
    apWallet: chain.apAccount.address.toLowerCase(),
    operatorToken,
    apiKey,
    async operator(method, urlPath, body) {
      const res = await fetch(`${env.svc.url}${urlPath}`, { method, headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: await res.json().catch(() => undefined) };
    },
    async restart(opts = {}) {
      await env.svc.close();
      svc = await startIssuanceService(config, log, { clock, onResponse: apiConformance.observer(), ...FAST_RETRIES, ...opts, poller: { ...FAST_RETRIES.poller, ...opts.poller } });
      env.svc = svc;
      alpaca.issuerBaseUrl = svc.url;
    },
    async restartNode() {
      await env.chain.devnet.stop();
      env.chain.devnet = await startDevnet({ statePath });
      rpc.target = env.chain.devnet.rpcUrl;
      env.provider.destroy();
      provider = new JsonRpcProvider(env.chain.devnet.rpcUrl, env.chain.devnet.chainId, { staticNetwork: true, cacheTimeout: -1 });
      env.provider = provider;
    },
    async close() {
      await env.svc.close();
      env.provider.destroy();
      await rpc.close();
      await alpaca.close();
      await env.chain.devnet.stop();
    },
  };
  return env;
}

/** Polls until the flow reaches one of `states` (the service runs its effects in the background). */
export async function waitForState(svc: Service, flowId: string, states: string[], timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const flow = await svc.host.get(flowId);
    if (flow && states.includes(flow.state)) return flow.state;
    if (Date.now() > deadline) throw new Error(`flow ${flowId} stuck in ${flow?.state} (wanted ${states.join('|')})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function apSigner(env: MintEnv): Wallet {
  return new Wallet(env.chain.apAccount.privateKey, env.provider);
}
