import type { Knex } from 'knex';
import { ulid } from 'ulid';
import { DomainError } from '../../core/errors';
import { type Clock, iso } from '../../core/clock';
import { isSupportedNetwork, normalizeWalletAddress } from '../../core/networks';
import { recordEntityEvent } from '../entity-journal';
import { isUniqueViolation } from '../errors';

export interface TokenizedAsset {
  assetId: string;
  underlyingSymbol: string;
  tokenSymbol: string;
  network: string;
  vaultAddress: string;
  decimals: number;
  enabled: boolean;
  halted: boolean;
  haltReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewAsset {
  underlyingSymbol: string;
  tokenSymbol: string;
  network: string;
  vaultAddress: string;
  decimals: number;
  enabled?: boolean;
}

export class AssetNotFoundError extends DomainError {
  constructor(assetId: string) {
    super('asset_not_found', `No tokenized asset ${assetId}`);
  }
}

/** The tokenized-asset registry. Every change is a journal event; `tokenized_assets` is its projection. */
export class AssetRegistry {
  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
    /** Where the request path's look-ups read (database.ts openReadPool). */
    private readonly reader: Knex = db,
  ) {}

  /** `operator`: who asked, journaled with the event when a person did. */
  async add(input: NewAsset, operator?: string): Promise<TokenizedAsset> {
    if (!isSupportedNetwork(input.network)) throw new DomainError('network_not_supported', `Network ${input.network} is not supported by this issuer`);
    const vaultAddress = normalizeWalletAddress(input.network, input.vaultAddress);
    if (!vaultAddress) throw new DomainError('invalid_vault_address', 'vault_address is not a valid contract address for the network');
    const assetId = ulid();
    try {
      await this.db.transaction(async (trx) => {
        if (await trx('tokenized_assets').where({ token_symbol: input.tokenSymbol, network: input.network }).first()) {
          throw new DomainError('asset_already_exists', `${input.tokenSymbol} on ${input.network} is already registered`);
        }
        await this.record(trx, assetId, 'asset.added', { ...input, vaultAddress, enabled: input.enabled ?? true }, operator);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DomainError('asset_already_exists', `${input.tokenSymbol} on ${input.network} is already registered`);
      throw err;
    }
    return (await this.get(assetId))!;
  }

  async update(assetId: string, changes: Partial<Pick<NewAsset, 'underlyingSymbol' | 'tokenSymbol' | 'vaultAddress' | 'decimals'>>, operator?: string): Promise<TokenizedAsset> {
    return this.change(assetId, async (trx, asset) => {
      if (changes.tokenSymbol !== undefined && changes.tokenSymbol !== asset.tokenSymbol) {
        if (await trx('tokenized_assets').where({ token_symbol: changes.tokenSymbol, network: asset.network }).first()) {
          throw new DomainError('asset_already_exists', `${changes.tokenSymbol} on ${asset.network} is already registered`);
        }
      }
      const payload: Record<string, unknown> = { ...changes };
      if (changes.vaultAddress !== undefined) {
        const v = normalizeWalletAddress(asset.network, changes.vaultAddress);
        if (!v) throw new DomainError('invalid_vault_address', 'vault_address is not a valid contract address for the network');
        payload.vaultAddress = v;
      }
      await this.record(trx, assetId, 'asset.updated', payload, operator);
    });
  }

  setEnabled(assetId: string, enabled: boolean, operator?: string): Promise<TokenizedAsset> {
    return this.change(assetId, (trx, asset) => (asset.enabled === enabled ? Promise.resolve() : this.record(trx, assetId, enabled ? 'asset.enabled' : 'asset.disabled', {}, operator)));
  }

  /** A halted asset takes no new mint or redemption; flows already under way carry on. */
  halt(assetId: string, reason: string, operator?: string): Promise<TokenizedAsset> {
    return this.change(assetId, (trx) => this.record(trx, assetId, 'asset.halted', { reason }, operator));
  }

  resume(assetId: string, operator?: string): Promise<TokenizedAsset> {
    return this.change(assetId, (trx, asset) => (asset.halted ? this.record(trx, assetId, 'asset.resumed', {}, operator) : Promise.resolve()));
  }

  async get(assetId: string, db: Knex | Knex.Transaction = this.db): Promise<TokenizedAsset | undefined> {
    const row = await db('tokenized_assets').where({ asset_id: assetId }).first();
    return row ? toAsset(row) : undefined;
  }

  async findByToken(tokenSymbol: string, network: string): Promise<TokenizedAsset | undefined> {
    const row = await this.reader('tokenized_assets').where({ token_symbol: tokenSymbol, network }).first();
    return row ? toAsset(row) : undefined;
  }

  async list(filter: { enabledOnly?: boolean } = {}): Promise<TokenizedAsset[]> {
    const q = this.db('tokenized_assets').orderBy(['underlying_symbol', 'network']);
    if (filter.enabledOnly) q.where({ enabled: true });
    return (await q).map(toAsset);
  }

  private async change(assetId: string, apply: (trx: Knex.Transaction, asset: TokenizedAsset) => Promise<unknown>): Promise<TokenizedAsset> {
    try {
      await this.db.transaction(async (trx) => {
        const asset = await this.get(assetId, trx);
        if (!asset) throw new AssetNotFoundError(assetId);
        await apply(trx, asset);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DomainError('asset_already_exists', 'Another asset already has this token symbol on this network');
      throw err;
    }
    return (await this.get(assetId))!;
  }

  private async record(trx: Knex.Transaction, assetId: string, type: string, payload: Record<string, unknown>, operator?: string): Promise<void> {
    await recordEntityEvent(trx, { type: 'asset', id: assetId }, { type, payload: { assetId, ...payload, ...(operator ? { operator } : {}) } }, iso(this.clock.now()));
  }
}

function toAsset(row: any): TokenizedAsset {
  return {
    assetId: row.asset_id,
    underlyingSymbol: row.underlying_symbol,
    tokenSymbol: row.token_symbol,
    network: row.network,
    vaultAddress: row.vault_address,
    decimals: Number(row.decimals),
    enabled: Boolean(row.enabled),
    halted: Boolean(row.halted),
    haltReason: row.halt_reason ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
