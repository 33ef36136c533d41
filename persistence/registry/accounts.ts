import type { Knex } from 'knex';
import { ulid } from 'ulid';
import { DomainError } from '../../core/errors';
import { type Clock, iso } from '../../core/clock';
import { normalizeWalletAddress } from '../../core/networks';
import { recordEntityEvent } from '../entity-journal';
import { isUniqueViolation } from '../errors';
import type { WalletRecord } from './projection';

export interface AuthorizedParticipant {
  apId: string;
  email: string;
  name: string | null;
  wallets: WalletRecord[];
  link: { clientAccountNumber: string; linkedAt: string } | null;
}

export class UnknownAccountError extends DomainError {
  constructor() {
    super('account_not_found', 'No authorized participant is registered with this e-mail');
  }
}

export class AccountAlreadyLinkedError extends DomainError {
  constructor() {
    super('account_already_linked', 'This account is already linked');
  }
}

/** Authorized participants: registered by an operator, linked to their Alpaca account by Alpaca. */
export class AccountRegistry {
  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
    /** Where the request path's look-ups read (database.ts openReadPool). */
    private readonly reader: Knex = db,
  ) {}

  /** `operator`: who registered it, journaled with the event. */
  async register(input: { email: string; name?: string; wallets: WalletRecord[] }, operator?: string): Promise<AuthorizedParticipant> {
    const email = input.email.trim().toLowerCase();
    const wallets = normalizeWallets(input.wallets);
    const apId = ulid();
    try {
      await this.db.transaction(async (trx) => {
        if (await trx('authorized_participants').where({ email }).first()) {
          throw new DomainError('ap_already_registered', 'An authorized participant with this e-mail is already registered');
        }
        await assertWalletsFree(trx, wallets, apId);
        await recordEntityEvent(trx, { type: 'ap', id: apId }, { type: 'ap.registered', payload: { apId, email, name: input.name ?? null, wallets, ...(operator ? { operator } : {}) } }, iso(this.clock.now()));
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DomainError('ap_already_registered', 'An authorized participant with this e-mail or wallet is already registered');
      throw err;
    }
    return (await this.get(apId))!;
  }

  async replaceWallets(apId: string, wallets: WalletRecord[], operator?: string): Promise<AuthorizedParticipant> {
    const normalized = normalizeWallets(wallets);
    await this.db.transaction(async (trx) => {
      if (!(await trx('authorized_participants').where({ ap_id: apId }).first())) throw new DomainError('ap_not_found', 'No such authorized participant');
      await assertWalletsFree(trx, normalized, apId);
      await recordEntityEvent(trx, { type: 'ap', id: apId }, { type: 'ap.wallets_replaced', payload: { apId, wallets: normalized, ...(operator ? { operator } : {}) } }, iso(this.clock.now()));
    });
    return (await this.get(apId))!;
  }

  /**
   * Alpaca links an AP's account to us. Relinking the same pair answers the same id; a different
   * account for a linked AP, or an account already linked to another AP, is a 409.
   */
  async link(input: { email: string; clientAccountNumber: string }): Promise<{ apId: string; created: boolean }> {
    const email = input.email.trim().toLowerCase();
    try {
      return await this.db.transaction(async (trx) => {
        const ap = await trx('authorized_participants').where({ email }).first();
        if (!ap) throw new UnknownAccountError();
        const existing = await trx('account_links').where({ ap_id: ap.ap_id }).first();
        if (existing) {
          if (existing.client_account_number === input.clientAccountNumber) return { apId: ap.ap_id as string, created: false };
          throw new AccountAlreadyLinkedError();
        }
        if (await trx('account_links').where({ client_account_number: input.clientAccountNumber }).first()) throw new AccountAlreadyLinkedError();
        await recordEntityEvent(trx, { type: 'ap', id: ap.ap_id }, { type: 'account.linked', payload: { apId: ap.ap_id, email, clientAccountNumber: input.clientAccountNumber } }, iso(this.clock.now()));
        return { apId: ap.ap_id as string, created: true };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AccountAlreadyLinkedError();
      throw err;
    }
  }

  async get(apId: string, db: Knex | Knex.Transaction = this.db): Promise<AuthorizedParticipant | undefined> {
    const ap = await db('authorized_participants').where({ ap_id: apId }).first();
    if (!ap) return undefined;
    return this.assemble(db, ap);
  }

  /** The linked AP for the client id Alpaca puts in a mint request (ours, or their account number). */
  async findLinkedClient(ref: { clientExternalAccountId?: string; clientAccountId?: string }): Promise<AuthorizedParticipant | undefined> {
    // On every mint request: the link and its AP in one read, the wallets in a second.
    const query = this.reader('account_links')
      .join('authorized_participants', 'authorized_participants.ap_id', 'account_links.ap_id')
      .select('authorized_participants.*', 'account_links.client_account_number', 'account_links.linked_at');
    const row = await (ref.clientExternalAccountId !== undefined
      ? query.where('account_links.ap_id', ref.clientExternalAccountId)
      : query.where('account_links.client_account_number', ref.clientAccountId ?? '')
    ).first();
    if (!row) return undefined;
    const wallets = await this.reader('ap_wallets').where({ ap_id: row.ap_id }).orderBy(['network', 'address']);
    return {
      apId: row.ap_id,
      email: row.email,
      name: row.name,
      wallets: wallets.map((w: any) => ({ network: w.network, address: w.address })),
      link: { clientAccountNumber: row.client_account_number, linkedAt: row.linked_at },
    };
  }

  /** Which AP registered this wallet on this network (redemptions map a sender to an AP this way). */
  async findByWallet(network: string, address: string): Promise<AuthorizedParticipant | undefined> {
    const row = await this.db('ap_wallets').where({ network, address: address.toLowerCase() }).first();
    return row ? this.get(row.ap_id) : undefined;
  }

  async list(): Promise<AuthorizedParticipant[]> {
    const aps = await this.db('authorized_participants').orderBy('created_at');
    return Promise.all(aps.map((ap) => this.assemble(this.db, ap)));
  }

  private async assemble(db: Knex | Knex.Transaction, ap: any): Promise<AuthorizedParticipant> {
    const wallets = await db('ap_wallets').where({ ap_id: ap.ap_id }).orderBy(['network', 'address']);
    const link = await db('account_links').where({ ap_id: ap.ap_id }).first();
    return {
      apId: ap.ap_id,
      email: ap.email,
      name: ap.name,
      wallets: wallets.map((w: any) => ({ network: w.network, address: w.address })),
      link: link ? { clientAccountNumber: link.client_account_number, linkedAt: link.linked_at } : null,
    };
  }
}

function normalizeWallets(wallets: WalletRecord[]): WalletRecord[] {
  const seen = new Set<string>();
  const out: WalletRecord[] = [];
  for (const w of wallets) {
    const address = normalizeWalletAddress(w.network, w.address);
    if (!address) throw new DomainError('invalid_wallet', `Not a valid ${w.network} wallet address: ${w.address}`);
    const key = `${w.network}:${address}`;
    if (!seen.has(key)) out.push({ network: w.network, address });
    seen.add(key);
  }
  return out;
}

async function assertWalletsFree(trx: Knex.Transaction, wallets: WalletRecord[], apId: string): Promise<void> {
  for (const w of wallets) {
    const owner = await trx('ap_wallets').where({ network: w.network, address: w.address }).first();
    if (owner && owner.ap_id !== apId) throw new DomainError('wallet_already_registered', `Wallet ${w.address} is registered to another authorized participant`);
  }
}
