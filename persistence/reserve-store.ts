import type { Database } from './database';
import { isPostgres, readJson } from './database';
import { decodeTags, tagPattern } from './flow-tags';

/** Which active flows a reconciliation counts, by the tag their state carries, and which of their transactions change the supply. */
export interface InFlightSelection<K extends string> {
  flowType: string;
  tag: string;
  kind: K;
  /** The purpose (`chain_transactions.purpose`) of the flow's transactions that mint or burn what it moves. */
  supplyTransactions?: 'mint' | 'burn';
}

export interface SelectedFlow<K extends string> {
  flowId: string;
  kind: K;
  context: Record<string, any>;
  /** The flow's transactions of its selection's purpose. */
  txHashes: string[];
}

export interface ReserveSnapshot<K extends string> {
  flows: Array<SelectedFlow<K>>;
  /** Σ shares_remaining per vault (lower-case address). */
  inventory: Map<string, bigint>;
}

/** The database side of a reconciliation of reserves. */
export class ReserveStore {
  constructor(private readonly db: Database) {}

  /**
   * The selected flows, their supply transactions and the receipt inventory, read in one snapshot so
   * they agree. A flow is of the first selection it matches.
   */
  async readSnapshot<K extends string>(selections: Array<InFlightSelection<K>>): Promise<ReserveSnapshot<K>> {
    return this.db.transaction(async (trx) => {
      // One snapshot for every read below (PostgreSQL; SQLite's transaction already is one).
      if (isPostgres(this.db)) await trx.raw('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const rows: Array<{ flow_id: string; flow_type: string; tags: string; snapshot: unknown }> = await trx('flows')
        .where({ status: 'active' })
        .andWhere((w) => {
          for (const s of selections) w.orWhere((x) => x.where({ flow_type: s.flowType }).andWhere('tags', 'like', tagPattern(s.tag)));
        })
        .select('flow_id', 'flow_type', 'tags', 'snapshot');
      const flows: Array<SelectedFlow<K>> = [];
      const purposeOf = new Map<string, string>();
      for (const row of rows) {
        const tags = decodeTags(row.tags);
        const selection = selections.find((s) => s.flowType === row.flow_type && tags.includes(s.tag));
        if (!selection) continue;
        flows.push({ flowId: row.flow_id, kind: selection.kind, context: readJson<{ context: Record<string, any> }>(row.snapshot).context, txHashes: [] });
        if (selection.supplyTransactions) purposeOf.set(row.flow_id, selection.supplyTransactions);
      }
      if (purposeOf.size) {
        const byFlow = new Map(flows.map((f) => [f.flowId, f]));
        const txs: Array<{ flow_id: string; purpose: string | null; tx_hash: string }> = await trx('chain_transactions').whereIn('flow_id', [...purposeOf.keys()]).select('flow_id', 'purpose', 'tx_hash');
        for (const tx of txs) if (tx.purpose === purposeOf.get(tx.flow_id)) byFlow.get(tx.flow_id)!.txHashes.push(tx.tx_hash);
      }
      const inventory = new Map<string, bigint>();
      for (const r of await trx('receipt_inventory').whereNot({ shares_remaining: '0' }).select('vault_address', 'shares_remaining')) {
        const vault = String(r.vault_address).toLowerCase();
        inventory.set(vault, (inventory.get(vault) ?? 0n) + BigInt(r.shares_remaining));
      }
      return { flows, inventory };
    });
  }
}
