import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { type FakeAlpaca, startFakeAlpaca } from '../alpaca/fake-alpaca';
import { type SandboxChain, startSandboxChain } from '../chain/sandbox-chain';
import type { ServiceConfig } from './config';
import type { Service } from './service';

export const SANDBOX_AP_EMAIL = 'sandbox-ap@example.com';
export const SANDBOX_AP_ACCOUNT = 'SANDBOX-AP-0001';

export interface Sandbox {
  config: ServiceConfig;
  chain: SandboxChain;
  alpaca: FakeAlpaca;
  /** Registers the sandbox asset and AP and links the AP through the fake Alpaca, once the service listens. */
  seed(service: Service): Promise<{ assetId: string; apId: string; clientExternalAccountId: string }>;
  stop(): Promise<void>;
}

/**
 * Everything the embedded default needs that production gets from outside: a fresh local devnet with
 * the vault deployed, a generated issuer keystore, and the fake Alpaca. The chain starts empty at each
 * run, so the sandbox's database does too (it lives in DATA_DIR/sandbox and is reset).
 */
export async function startSandbox(config: ServiceConfig, log: Logger): Promise<Sandbox> {
  const dir = path.join(config.dataDir, 'sandbox');
  fs.rmSync(dir, { recursive: true, force: true });
  // Blocks every second, so transfers gather confirmations as they would on a real chain.
  const chain = await startSandboxChain(path.join(dir, 'chain'), { blockTime: 1 });
  const credentials = { keyId: 'sandbox-issuer', secret: crypto.randomBytes(24).toString('hex') };
  const accountId = crypto.randomUUID();
  const issuerBaseUrl = `http://${config.host}:${config.port}`;
  const alpaca = await startFakeAlpaca({ issuerBaseUrl, issuerAuth: { apiKey: config.inbound.apiKey! }, accountId, credentials });
  log.info({ rpcUrl: chain.devnet.rpcUrl, vault: chain.vault.vault, fakeAlpaca: alpaca.url }, 'sandbox devnet and fake Alpaca started');
  const sandboxConfig: ServiceConfig = {
    ...config,
    dataDir: dir,
    chain: { network: config.chainNetwork, rpcUrl: chain.devnet.rpcUrl, chainId: chain.devnet.chainId, confirmations: 1, keystoreFile: chain.keystoreFile, keystorePasswordFile: chain.keystorePasswordFile },
    alpaca: { baseUrl: alpaca.url, accountId, keyId: credentials.keyId, secret: credentials.secret, timeoutMs: config.alpacaTimeoutMs },
  };
  return {
    config: sandboxConfig,
    chain,
    alpaca,
    async seed(service) {
      const asset = await service.assets.add({ underlyingSymbol: 'AAPL', tokenSymbol: 'tAAPL', network: config.chainNetwork, vaultAddress: chain.vault.vault, decimals: 18 });
      const ap = await service.accounts.register({ email: SANDBOX_AP_EMAIL, name: 'Sandbox AP', wallets: [{ network: config.chainNetwork, address: chain.apAccount.address }] });
      const linked = await alpaca.connect(SANDBOX_AP_EMAIL, SANDBOX_AP_ACCOUNT);
      if (linked.status !== 200) throw new Error(`sandbox account link failed: ${linked.status}`);
      return { assetId: asset.assetId, apId: ap.apId, clientExternalAccountId: linked.body.client_external_account_id };
    },
    async stop() {
      await alpaca.close();
      await chain.devnet.stop();
    },
  };
}
