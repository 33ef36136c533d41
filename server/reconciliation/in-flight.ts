import type { Knex } from 'knex';
import { isPostgres, readJson } from '../../persistence/database';

/**
 * What the flows in flight mean for the reserves, read from the machines' states and contexts.
 * Shares move at Alpaca and tokens move on chain at different moments of a flow, so between those
 * moments the two sides legitimately differ:
 *
 * - an active mint whose journal Alpaca confirmed (`journalStatus: completed`: `minting.*`,
 *   `mintSubmissionFailed`, `mintReverted`, or any state before the mint such as an approval) and
 *   whose receipt is not recorded yet has its shares at Alpaca; its tokens exist only once its
 *   transaction is mined. Which it is, is asked of the chain (the flow's transactions), so it counts
 *   as awaiting the chain or as mined;
 * - a redemption Alpaca reported completed and not yet burnt (`burning.*`, `insufficientInventory`,
 *   `burnReverted`, `burnStalled`) no longer has shares at Alpaca; its tokens are gone only once the
 *   burn is mined;
 * - an active mint still waiting for its journal (`awaitingJournal`, `journalOverdue`) may already
 *   have been journaled by Alpaca (Alpaca journals before it confirms), and a redemption Alpaca was
 *   asked about (`callingAlpaca`, `redeemAttemptsExhausted`, `awaitingAlpaca.*`, `alpacaOverdue`)
 *   may already be completed there: those two are uncertain, and only widen the drift that counts
 *   as explained.
 *
 * Tokens held in the redemption wallet without Alpaca (an unknown sender, a halted asset, dust, a
 * return under way) are in the supply and still backed at Alpaca: no adjustment. A final state that
 * leaves shares and tokens apart (a mint rejected by an operator after its journal, a transfer
 * orphaned after Alpaca completed) is a drift until it is settled by hand.
 *
 * Mined-but-unrecorded mints and burns also explain the receipt inventory being behind the chain:
 * a receipt is recorded when its mint is confirmed, and drawn down when its burn is.
 */
export const REDEMPTION_AT_ALPACA = ['callingAlpaca', 'redeemAttemptsExhausted', 'awaitingAlpaca.checking', 'awaitingAlpaca.waiting', 'alpacaOverdue'];
export const REDEMPTION_ALPACA_DONE_NOT_BURNT = ['burning.submitting', 'burning.confirming', 'insufficientInventory', 'burnReverted', 'burnStalled'];

export type InFlightKind = 'mintAwaitingJournal' | 'mintJournaled' | 'redemptionAtAlpaca' | 'redemptionToBurn';

/** One flow whose movement is still under way, with the amount (token base units) it moves. */
export interface InFlightFlow {
  flowId: string;
  kind: InFlightKind;
  network: string;
  vaultAddress: string;
  units: bigint;
  /** The transactions (mint or burn) the flow has signed, to ask the chain whether one was mined. */
  txHashes: string[];
}

/** The database side of one reconciliation, read in one transaction so flows, transactions and receipts agree. */
export interface DatabaseSide {
  flows: InFlightFlow[];
  /** Σ shares_remaining per vault (lower-case address), in token base units. */
  inventory: Map<string, bigint>;
}

export async function readDatabaseSide(db: Knex): Promise<DatabaseSide> {
  return db.transaction(async (trx) => {
    // One snapshot for every read below (PostgreSQL; SQLite's transaction already is one).
    if (isPostgres(db)) await trx.raw('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const redemptionKinds = new Map<string, InFlightKind>([
      ...REDEMPTION_AT_ALPACA.map((s) => [s, 'redemptionAtAlpaca'] as const),
      ...REDEMPTION_ALPACA_DONE_NOT_BURNT.map((s) => [s, 'redemptionToBurn'] as const),
    ]);
    const rows: Array<{ flow_id: string; flow_type: string; state: string; snapshot: unknown }> = await trx('flows')
      .where({ status: 'active' })
      .andWhere((w) => w.where({ flow_type: 'mint' }).orWhere((r) => r.where({ flow_type: 'redemption' }).whereIn('state', [...redemptionKinds.keys()])))
      .select('flow_id', 'flow_type', 'state', 'snapshot');
    const flows: InFlightFlow[] = [];
    for (const row of rows) {
      const c = readJson<{ context: Record<string, any> }>(row.snapshot).context;
      const kind: InFlightKind | undefined =
        row.flow_type === 'mint' ? (c.receiptId ? undefined : c.journalStatus === 'completed' ? 'mintJournaled' : c.journalStatus === undefined ? 'mintAwaitingJournal' : undefined) : redemptionKinds.get(row.state);
      if (!kind) continue;
      // A mint moves amountUnits; a redemption moves (and burns) what Alpaca redeems, qtyUnits: the dust stays.
      const units = BigInt(kind.startsWith('mint') ? c.amountUnits : c.qtyUnits);
      flows.push({ flowId: row.flow_id, kind, network: c.network, vaultAddress: String(c.vaultAddress).toLowerCase(), units, txHashes: [] });
    }
    const needsTx = flows.filter((f) => f.kind === 'mintJournaled' || f.kind === 'redemptionToBurn');
    if (needsTx.length) {
      const byFlow = new Map(needsTx.map((f) => [f.flowId, f]));
      const txs: Array<{ flow_id: string; intent_id: string; tx_hash: string }> = await trx('chain_transactions').whereIn('flow_id', [...byFlow.keys()]).select('flow_id', 'intent_id', 'tx_hash');
      for (const tx of txs) {
        const f = byFlow.get(tx.flow_id);
        // Only the flow's own mint or burn changes the supply (a return to sender moves tokens, no more).
        if (f && tx.intent_id.startsWith(f.kind === 'mintJournaled' ? 'mint:' : 'burn:')) f.txHashes.push(tx.tx_hash);
      }
    }
    const inventory = new Map<string, bigint>();
    for (const r of await trx('receipt_inventory').whereNot({ shares_remaining: '0' }).select('vault_address', 'shares_remaining')) {
      const vault = String(r.vault_address).toLowerCase();
      inventory.set(vault, (inventory.get(vault) ?? 0n) + BigInt(r.shares_remaining));
    }
    return { flows, inventory };
  });
}
