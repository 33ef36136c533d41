import type { Logger } from 'pino';
import { AlpacaClient } from '../alpaca/client';
import { BasicAuth, ClientCredentialsAuth } from '../alpaca/auth';
import { connectChain } from '../chain/connect';
import { readReceiptAddress, readReceiptBalance } from '../chain/vault';
import type { ChainConnection } from '../chain/chain-connection';
import type { Clock } from '../core/clock';
import type { OutboxRunnerOptions } from '../runtime/outbox-runner';
import type { ServiceConfig } from './config';
import { DEFAULT_MINT_SETTINGS, type MintSettings, mintModule } from './flows/mint';
import { DEFAULT_REDEMPTION_SETTINGS, type RedemptionSettings, redemptionModule } from './flows/redemption';
import { type PollerSettings, TransferPoller } from '../chain/transfer-poller';
import { type Service, startService } from './service';
import type { AppDeps } from './app';
import { Lease } from '../persistence/lease';
import { AssetRegistry } from '../persistence/registry/assets';
import { providerReader, Reconciler } from './reconciliation/reconciler';
import { ReconciliationSchedule } from './reconciliation/schedule';

export interface IssuanceOptions {
  clock?: Clock;
  runner?: OutboxRunnerOptions;
  timerPollMs?: number;
  autoRun?: boolean;
  mint?: Partial<MintSettings>;
  redemption?: Partial<RedemptionSettings>;
  poller?: Partial<PollerSettings>;
  onResponse?: AppDeps['onResponse'];
  /** Pause before a drift is read again to confirm it (default 1 s). */
  reconciliation?: { recheckMs?: number };
}

/** The whole issuer: chain connection, Alpaca client, the mint flow, over the service core. */
export type IssuanceService = Service & { chains: Map<string, ChainConnection>; poller: TransferPoller; reconciler: Reconciler };

export async function startIssuanceService(config: ServiceConfig, log: Logger, options: IssuanceOptions = {}): Promise<IssuanceService> {
  if (!config.chain) throw new Error('no chain configured (RPC_URL)');
  if (!config.alpaca) throw new Error('no Alpaca API configured (ALPACA_API_BASE_URL)');
  const chainSettings = config.chain;
  const alpacaSettings = config.alpaca;
  const chains = new Map<string, ChainConnection>();
  let reconciler!: Reconciler;
  const service = await startService(
    config,
    log,
    async ({ db, clock, metrics }) => {
      let chainId = chainSettings.chainId;
      if (chainId === undefined) {
        const probe = await fetch(chainSettings.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) });
        chainId = Number(((await probe.json()) as { result: string }).result);
      }
      const chain = await connectChain({ ...chainSettings, chainId }, db, clock, log);
      chain.transactions.onConfirmed((tx) => metrics.transactionConfirmed(tx));
      chains.set(chain.network, chain);
      const auth = alpacaSettings.oauth ? new ClientCredentialsAuth(alpacaSettings.oauth) : new BasicAuth(alpacaSettings.keyId!, alpacaSettings.secret!);
      const alpaca = new AlpacaClient({ baseUrl: alpacaSettings.baseUrl, accountId: alpacaSettings.accountId, auth, timeoutMs: alpacaSettings.timeoutMs, onCall: (call) => metrics.alpacaCall(call) });
      const custody = config.reconciliation?.alpacaAccountId;
      const positions = custody && custody !== alpacaSettings.accountId ? new AlpacaClient({ baseUrl: alpacaSettings.baseUrl, accountId: custody, auth, timeoutMs: alpacaSettings.timeoutMs, onCall: (call) => metrics.alpacaCall(call) }) : alpaca;
      const assets = new AssetRegistry(db, clock);
      reconciler = new Reconciler({
        db,
        assets: () => assets.list(),
        chains: new Map([[chain.network, providerReader(chain.provider)]]),
        positions: () => positions.listPositions(),
        toleranceShares: config.reconciliation?.toleranceShares ?? '0',
        clock,
        log: log.child({ part: 'reconciliation' }),
        observe: (report) => metrics.reserves(report),
        recheckMs: options.reconciliation?.recheckMs,
      });
      const settings: MintSettings = {
        ...DEFAULT_MINT_SETTINGS,
        journalTimeoutMs: config.mint.journalTimeoutMs,
        callbackRetry: { ...DEFAULT_MINT_SETTINGS.callbackRetry, maxAttempts: config.mint.callbackMaxAttempts },
        ...options.mint,
      };
      return [mintModule(chains, alpaca, settings), redemptionModule(chains, alpaca, { ...DEFAULT_REDEMPTION_SETTINGS, ...options.redemption })];
    },
    {
      ...options,
      receiptBalance: async (network, vault, receiptId) => {
        const chain = chains.get(network);
        if (!chain) return undefined;
        return readReceiptBalance(chain.provider, await readReceiptAddress(chain.provider, vault), chain.issuer, receiptId);
      },
      reconciliation: { run: () => reconciler.run() },
      onClose: async () => {
        await poller?.stop();
        await schedule?.stop();
        for (const c of chains.values()) c.provider.destroy();
      },
    },
  );
  const pollMs = options.poller?.pollMs ?? config.redemption.transferPollMs;
  const pollerLease = new Lease(service.db, 'transfer-poller', service.instanceId, Math.max(2_000, 5 * pollMs), service.clock);
  // Alone on its database (SQLite), this process takes the lease a killed predecessor may still hold.
  if (!config.databaseUrl) await pollerLease.takeOver();
  const poller: TransferPoller = new TransferPoller(
    service.db,
    service.host,
    chains,
    service.assets,
    service.accounts,
    {
      confirmations: chainSettings.confirmations,
      maxRange: config.redemption.transferMaxRange,
      pollMs: config.redemption.transferPollMs,
      pollIntervalMs: config.redemption.pollIntervalMs,
      alpacaDeadlineMs: config.redemption.deadlineMs,
      lease: pollerLease,
      ...options.poller,
    },
    service.clock,
    log.child({ part: 'transfer-poller' }),
  );
  service.metrics.setPollerSource(() => poller.positions());
  if (options.autoRun !== false) poller.start();
  const schedule: ReconciliationSchedule = new ReconciliationSchedule(reconciler, config.reconciliation?.intervalMs ?? 0, log.child({ part: 'reconciliation' }));
  if (options.autoRun !== false) schedule.start();
  return { ...service, chains, poller, reconciler };
}
