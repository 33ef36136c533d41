import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from './config';
import { startIssuanceService } from './issuance-service';
import { createLogger } from './logger';
import { ensureSandboxCredentials } from './sandbox-credentials';
import { startSandbox, type Sandbox } from './sandbox';

async function main(): Promise<void> {
  let config = loadConfig();
  const log = createLogger(config.logLevel);
  let sandbox: Sandbox | undefined;
  let credentialsFile: string | undefined;
  if (config.mode === 'sandbox') {
    ({ config, file: credentialsFile } = ensureSandboxCredentials(config));
    if (!config.chain || !config.alpaca) {
      sandbox = await startSandbox(config, log);
      config = sandbox.config;
    }
  }
  const service = await startIssuanceService(config, log);
  const seeded = sandbox ? await sandbox.seed(service) : undefined;
  if (sandbox && seeded) {
    // What the demo needs to drive a mint; no secrets in it (those stay in the credentials file).
    fs.writeFileSync(
      path.join(config.dataDir, 'sandbox.json'),
      JSON.stringify(
        {
          issuerUrl: service.url,
          fakeAlpacaUrl: sandbox.alpaca.url,
          rpcUrl: sandbox.chain.devnet.rpcUrl,
          chainId: sandbox.chain.devnet.chainId,
          vault: sandbox.chain.vault.vault,
          redemptionWallet: sandbox.chain.issuerAddress,
          apWallet: sandbox.chain.apAccount.address,
          // DEVNET ONLY: anvil's well-known test key for the sandbox AP, so the demo can send a redemption.
          apDevnetPrivateKey: sandbox.chain.apAccount.privateKey,
          network: config.chain!.network,
          credentialsFile,
          ...seeded,
        },
        null,
        2,
      ),
    );
  }
  const banner = [
    config.mode === 'sandbox' ? '*** SANDBOX MODE: local devnet, fake Alpaca, throwaway keys. Not for real money. ***' : 'issuance-bot: PRODUCTION mode',
    `listening on ${service.url}`,
    `database: ${config.databaseUrl ? 'PostgreSQL' : `SQLite ${path.join(config.dataDir, 'issuance-bot.sqlite')}`}`,
    `chain: ${config.chain!.network} via ${config.mode === 'sandbox' ? config.chain!.rpcUrl : '(configured RPC)'}`,
    ...(credentialsFile ? [`sandbox credentials (X-API-KEY, operator token): ${credentialsFile}`] : []),
  ];
  process.stdout.write(`${banner.join('\n')}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await service.close();
    await sandbox?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`issuance-bot failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
