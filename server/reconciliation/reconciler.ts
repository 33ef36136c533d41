import type { JsonRpcProvider } from 'ethers';
import type { Logger } from 'pino';
import { type Clock, iso } from '../../core/clock';
import type { Database } from '../../persistence/database';
import type { TokenizedAsset } from '../../persistence/registry/assets';
import { readTotalSupply } from '../../chain/vault';
import { type InFlightFlow, readDatabaseSide } from './in-flight';
import type { AssetReading, FlowAmount, InFlightAmounts, NetworkReading, ReconciliationAlert, ReconciliationReport, ReconciliationStatus } from './report';
import { formatScaled, sharesToScaled, unitsToScaled } from './shares';

/** The chain reads reconciliation needs, all pinned to one block so they agree with each other. */
export interface ChainReader {
  blockNumber(): Promise<number>;
  totalSupply(vault: string, block: number): Promise<bigint>;
  /** Whether the transaction was mined, and succeeded, at or before `block`. */
  minedBy(txHash: string, block: number): Promise<boolean>;
}

export function providerReader(provider: JsonRpcProvider): ChainReader {
  return {
    blockNumber: () => provider.getBlockNumber(),
    totalSupply: (vault, block) => readTotalSupply(provider, vault, block),
    async minedBy(txHash, block) {
      const receipt = await provider.getTransactionReceipt(txHash);
      return receipt !== null && receipt.status === 1 && receipt.blockNumber <= block;
    },
  };
}

export interface ReconcilerDeps {
  db: Database;
  /** Every registered asset, enabled or not (a disabled asset may still have tokens out). */
  assets: () => Promise<TokenizedAsset[]>;
  /** Chain reads per network. */
  chains: Map<string, ChainReader>;
  /** The issuer account's positions at Alpaca (symbol and signed decimal qty). */
  positions: () => Promise<Array<{ symbol: string; qty: string }>>;
  /** Shares (a decimal string) a drift may reach on either side before it is reported. */
  toleranceShares: string;
  clock: Clock;
  log: Logger;
  /** Told about every report (metrics). */
  observe?: (report: ReconciliationReport) => void;
  /**
   * A drift is read a second time after this pause before it is reported: Alpaca, the database and
   * the chain are read one after the other, and a flow that moves in between can look like a drift.
   */
  recheckMs?: number;
}

/**
 * Proof of reserves: per underlying symbol, the shares Alpaca holds for the issuer against the tokens
 * outstanding on every network it is tokenized on, and per vault the receipt inventory against the
 * supply, both adjusted for the flows in flight (in-flight.ts). Reads the database first, then the
 * chain at one block, then Alpaca, so a flow moving meanwhile mostly lands in the explained range.
 */
export class Reconciler {
  private readonly tolerance: bigint;
  private latest: ReconciliationReport | undefined;

  constructor(private readonly deps: ReconcilerDeps) {
    this.tolerance = sharesToScaled(deps.toleranceShares);
    if (this.tolerance < 0n) throw new RangeError('the reconciliation tolerance must not be negative');
  }

  /** The last report this instance produced, if any. */
  get last(): ReconciliationReport | undefined {
    return this.latest;
  }

  async run(): Promise<ReconciliationReport> {
    let report = await this.readOnce();
    if (report.status === 'drift' && (this.deps.recheckMs ?? 1_000) > 0) {
      await new Promise((r) => setTimeout(r, this.deps.recheckMs ?? 1_000));
      report = await this.readOnce();
    }
    this.latest = report;
    this.tell(report);
    return report;
  }

  private tell(report: ReconciliationReport): void {
    for (const alert of report.alerts) {
      const asset = report.assets.find((a) => a.underlying_symbol === alert.underlying_symbol);
      const network = asset?.networks.find((n) => n.network === alert.network);
      const fields =
        alert.kind === 'reserve_drift'
          ? { alpacaShares: asset?.alpaca_shares, expectedShares: asset?.expected_alpaca_shares, drift: asset?.drift, explained: asset?.explained_drift }
          : alert.kind === 'inventory_drift'
            ? { receiptInventory: network?.receipt_inventory, expectedInventory: network?.expected_receipt_inventory, drift: network?.inventory_drift, block: network?.block_number }
            : {};
      this.deps.log.warn({ asset: alert.underlying_symbol, network: alert.network ?? undefined, kind: alert.kind, tolerance: report.tolerance, ...fields }, alert.message);
    }
    try {
      this.deps.observe?.(report);
    } catch {
      // metrics must not break a reconciliation
    }
  }

  private async readOnce(): Promise<ReconciliationReport> {
    const generatedAt = iso(this.deps.clock.now());
    const database = await readDatabaseSide(this.deps.db);
    const assets = await this.deps.assets();
    const networks = await this.readChains(assets, database.flows);
    let positions: Map<string, string> | undefined;
    let alpacaError: string | null = null;
    try {
      positions = new Map((await this.deps.positions()).map((p) => [p.symbol, p.qty]));
    } catch (err) {
      alpacaError = `Alpaca positions unavailable: ${describeFailure(err)}`;
    }

    const bySymbol = new Map<string, TokenizedAsset[]>();
    for (const a of assets) bySymbol.set(a.underlyingSymbol, [...(bySymbol.get(a.underlyingSymbol) ?? []), a]);
    const readings: AssetReading[] = [];
    const alerts: ReconciliationAlert[] = [];
    for (const [symbol, group] of [...bySymbol].sort(([a], [b]) => a.localeCompare(b))) {
      const vaults = group.map((a) => this.readVault(a, networks.get(a.network), database.flows, database.inventory));
      readings.push(this.readAsset(symbol, group, vaults, positions, alpacaError, alerts));
    }
    const status: ReconciliationStatus = readings.some((r) => r.status === 'drift') ? 'drift' : readings.some((r) => r.status === 'unavailable') ? 'unavailable' : 'reconciled';
    return { generated_at: generatedAt, tolerance: formatScaled(this.tolerance), status, assets: readings, alerts };
  }

  /** Per network: the block, each vault's supply at it, and which in-flight transactions were mined by then. */
  private async readChains(assets: TokenizedAsset[], flows: InFlightFlow[]): Promise<Map<string, ChainSide>> {
    const out = new Map<string, ChainSide>();
    for (const network of new Set(assets.map((a) => a.network))) {
      const reader = this.deps.chains.get(network);
      if (!reader) {
        out.set(network, { error: `no chain connection for network ${network}` });
        continue;
      }
      try {
        const block = await reader.blockNumber();
        const supply = new Map<string, bigint>();
        for (const a of assets.filter((x) => x.network === network)) supply.set(a.vaultAddress.toLowerCase(), await reader.totalSupply(a.vaultAddress, block));
        const mined = new Set<string>();
        for (const f of flows.filter((x) => x.network === network)) {
          for (const tx of f.txHashes) {
            if (await reader.minedBy(tx, block)) {
              mined.add(f.flowId);
              break;
            }
          }
        }
        out.set(network, { block, supply, mined });
      } catch (err) {
        out.set(network, { error: `chain unavailable: ${describeFailure(err)}` });
      }
    }
    return out;
  }

  private readVault(asset: TokenizedAsset, chain: ChainSide | undefined, flows: InFlightFlow[], inventory: Map<string, bigint>): VaultReading {
    const vault = asset.vaultAddress.toLowerCase();
    const base: Pick<NetworkReading, 'network' | 'token_symbol' | 'vault_address' | 'decimals'> = {
      network: asset.network,
      token_symbol: asset.tokenSymbol,
      vault_address: asset.vaultAddress,
      decimals: asset.decimals,
    };
    if (!chain || 'error' in chain) {
      const error = chain && 'error' in chain ? chain.error : `no chain connection for network ${asset.network}`;
      return { reading: { ...base, block_number: null, onchain_supply: null, receipt_inventory: null, in_flight: null, expected_receipt_inventory: null, inventory_drift: null, inventory_within_tolerance: null, error } };
    }
    const scale = (units: bigint) => unitsToScaled(units, asset.decimals);
    const mine = flows.filter((f) => f.network === asset.network && f.vaultAddress === vault);
    const sum = (pick: (f: InFlightFlow) => boolean): { flows: number; scaled: bigint } => {
      const chosen = mine.filter(pick);
      return { flows: chosen.length, scaled: scale(chosen.reduce((n, f) => n + f.units, 0n)) };
    };
    const mined = (f: InFlightFlow) => chain.mined.has(f.flowId);
    const mintsAwaitingChain = sum((f) => f.kind === 'mintJournaled' && !mined(f));
    const mintsMined = sum((f) => f.kind === 'mintJournaled' && mined(f));
    const burnsAwaitingChain = sum((f) => f.kind === 'redemptionToBurn' && !mined(f));
    const burnsMined = sum((f) => f.kind === 'redemptionToBurn' && mined(f));
    const awaitingJournal = sum((f) => f.kind === 'mintAwaitingJournal');
    const atAlpaca = sum((f) => f.kind === 'redemptionAtAlpaca');

    const supply = scale(chain.supply.get(vault) ?? 0n);
    const receipts = scale(inventory.get(vault) ?? 0n);
    const expectedInventory = supply - mintsMined.scaled + burnsMined.scaled;
    const inventoryDrift = receipts - expectedInventory;
    const amount = (a: { flows: number; scaled: bigint }): FlowAmount => ({ flows: a.flows, shares: formatScaled(a.scaled) });
    const inFlight: InFlightAmounts = {
      mints_awaiting_chain: amount(mintsAwaitingChain),
      redemptions_awaiting_burn: amount(burnsAwaitingChain),
      mints_awaiting_journal: amount(awaitingJournal),
      redemptions_awaiting_alpaca: amount(atAlpaca),
      mints_mined_unrecorded: amount(mintsMined),
      burns_mined_unrecorded: amount(burnsMined),
    };
    return {
      reading: {
        ...base,
        block_number: chain.block,
        onchain_supply: formatScaled(supply),
        receipt_inventory: formatScaled(receipts),
        in_flight: inFlight,
        expected_receipt_inventory: formatScaled(expectedInventory),
        inventory_drift: formatScaled(inventoryDrift),
        inventory_within_tolerance: abs(inventoryDrift) <= this.tolerance,
        error: null,
      },
      expectedAtAlpaca: supply + mintsAwaitingChain.scaled - burnsAwaitingChain.scaled,
      mayBeAbove: awaitingJournal.scaled,
      mayBeBelow: atAlpaca.scaled,
    };
  }

  private readAsset(symbol: string, group: TokenizedAsset[], vaults: VaultReading[], positions: Map<string, string> | undefined, alpacaError: string | null, alerts: ReconciliationAlert[]): AssetReading {
    const networks = vaults.map((v) => v.reading);
    for (const n of networks) {
      if (n.error) alerts.push({ underlying_symbol: symbol, network: n.network, kind: 'unavailable', message: `${symbol} on ${n.network}: ${n.error}` });
      else if (n.inventory_within_tolerance === false) {
        alerts.push({ underlying_symbol: symbol, network: n.network, kind: 'inventory_drift', message: `${symbol} on ${n.network}: the receipt inventory backs ${n.receipt_inventory} shares, ${n.expected_receipt_inventory} expected from the supply (drift ${n.inventory_drift})` });
      }
    }
    const base = { underlying_symbol: symbol, token_symbols: [...new Set(group.map((a) => a.tokenSymbol))].sort(), networks };
    const chainDown = vaults.some((v) => v.expectedAtAlpaca === undefined);
    const unknown = { alpaca_shares: null, expected_alpaca_shares: null, drift: null, explained_drift: null, within_tolerance: null };
    if (alpacaError) alerts.push({ underlying_symbol: symbol, network: null, kind: 'unavailable', message: `${symbol}: ${alpacaError}` });
    if (!positions) return { ...base, ...unknown, status: 'unavailable', error: alpacaError };
    const alpaca = sharesToScaled(positions.get(symbol) ?? '0');
    if (chainDown) return { ...base, ...unknown, alpaca_shares: formatScaled(alpaca), status: 'unavailable', error: networks.find((n) => n.error)?.error ?? null };

    const expected = vaults.reduce((n, v) => n + v.expectedAtAlpaca!, 0n);
    const above = vaults.reduce((n, v) => n + v.mayBeAbove!, 0n);
    const below = vaults.reduce((n, v) => n + v.mayBeBelow!, 0n);
    const drift = alpaca - expected;
    const within = drift >= -below - this.tolerance && drift <= above + this.tolerance;
    if (!within) {
      alerts.push({
        underlying_symbol: symbol,
        network: null,
        kind: 'reserve_drift',
        message: `${symbol}: Alpaca holds ${formatScaled(alpaca)} shares for the issuer, ${formatScaled(expected)} expected from the tokens outstanding (drift ${formatScaled(drift)}, flows in flight explain ${formatScaled(-below)} to ${formatScaled(above)})`,
      });
    }
    const inventoryOk = networks.every((n) => n.inventory_within_tolerance !== false);
    return {
      ...base,
      status: within && inventoryOk ? 'reconciled' : 'drift',
      alpaca_shares: formatScaled(alpaca),
      expected_alpaca_shares: formatScaled(expected),
      drift: formatScaled(drift),
      explained_drift: { min: formatScaled(-below), max: formatScaled(above) },
      within_tolerance: within,
      error: null,
    };
  }
}

type ChainSide = { error: string } | { block: number; supply: Map<string, bigint>; mined: Set<string> };

interface VaultReading {
  reading: NetworkReading;
  /** This vault's share of what Alpaca should hold (undefined when the chain could not be read). */
  expectedAtAlpaca?: bigint;
  mayBeAbove?: bigint;
  mayBeBelow?: bigint;
}

const abs = (v: bigint) => (v < 0n ? -v : v);

/** One line, bounded, with any URL (an RPC endpoint may carry a key) left out. */
export function describeFailure(err: unknown): string {
  const e = err as { shortMessage?: unknown; message?: unknown; code?: unknown } | undefined;
  const text = typeof e?.shortMessage === 'string' ? e.shortMessage : typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' && !text.includes(e.code) ? `${e.code}: ` : '';
  return `${code}${text.split('\n')[0]!.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[url]')}`.slice(0, 200);
}
