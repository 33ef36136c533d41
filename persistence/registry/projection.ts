import type { Knex } from 'knex';
import type { JournalEntry } from '../journal';
import { CONTROLS_ENTITY, CONTROLS_VIEWS, projectControlsEvent } from '../controls/projection';

export const REGISTRY_VIEWS = ['authorized_participants', 'ap_wallets', 'account_links', 'tokenized_assets', ...CONTROLS_VIEWS];

export interface WalletRecord {
  network: string;
  address: string;
}

/** Applies one registry event to its views. Used live and by the rebuild, so both give the same rows. */
export async function projectRegistryEvent(trx: Knex.Transaction, e: JournalEntry): Promise<void> {
  if (e.flowType === CONTROLS_ENTITY) return projectControlsEvent(trx, e);
  const p = e.payload as Record<string, any>;
  const at = e.recordedAt;
  switch (e.type) {
    case 'ap.registered':
      await trx('authorized_participants').insert({ ap_id: p.apId, email: p.email, name: p.name ?? null, created_at: at, updated_at: at });
      await replaceWallets(trx, p.apId, p.wallets);
      return;
    case 'ap.wallets_replaced':
      await replaceWallets(trx, p.apId, p.wallets);
      await trx('authorized_participants').where({ ap_id: p.apId }).update({ updated_at: at });
      return;
    case 'account.linked':
      await trx('account_links').insert({ ap_id: p.apId, email: p.email, client_account_number: p.clientAccountNumber, linked_at: at });
      return;
    case 'asset.added':
      await trx('tokenized_assets').insert({
        asset_id: p.assetId,
        underlying_symbol: p.underlyingSymbol,
        token_symbol: p.tokenSymbol,
        network: p.network,
        vault_address: p.vaultAddress,
        decimals: p.decimals,
        enabled: p.enabled,
        halted: false,
        halt_reason: null,
        created_at: at,
        updated_at: at,
      });
      return;
    case 'asset.updated': {
      const changes: Record<string, unknown> = {};
      if (p.underlyingSymbol !== undefined) changes.underlying_symbol = p.underlyingSymbol;
      if (p.tokenSymbol !== undefined) changes.token_symbol = p.tokenSymbol;
      if (p.vaultAddress !== undefined) changes.vault_address = p.vaultAddress;
      if (p.decimals !== undefined) changes.decimals = p.decimals;
      await trx('tokenized_assets').where({ asset_id: p.assetId }).update({ ...changes, updated_at: at });
      return;
    }
    case 'asset.enabled':
    case 'asset.disabled':
      await trx('tokenized_assets').where({ asset_id: p.assetId }).update({ enabled: e.type === 'asset.enabled', updated_at: at });
      return;
    case 'asset.halted':
      await trx('tokenized_assets').where({ asset_id: p.assetId }).update({ halted: true, halt_reason: p.reason, updated_at: at });
      return;
    case 'asset.resumed':
      await trx('tokenized_assets').where({ asset_id: p.assetId }).update({ halted: false, halt_reason: null, updated_at: at });
      return;
    case 'effect.made_due':
      // An operator brought an effect forward: the journal row is the record; no view holds it.
      return;
    default:
      throw new Error(`No projection for registry event ${e.type}`);
  }
}

async function replaceWallets(trx: Knex.Transaction, apId: string, wallets: WalletRecord[]): Promise<void> {
  await trx('ap_wallets').where({ ap_id: apId }).delete();
  if (wallets.length > 0) await trx('ap_wallets').insert(wallets.map((w) => ({ ap_id: apId, network: w.network, address: w.address })));
}
