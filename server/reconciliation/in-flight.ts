import { TAGS } from '../../machines/tags';
import type { Database } from '../../persistence/database';
import { type InFlightSelection, ReserveStore } from '../../persistence/reserve-store';

/**
 * What the flows in flight mean for the reserves, read from the tags of their states (machines/tags.ts)
 * and their contexts. Shares move at Alpaca and tokens move on chain at different moments of a flow,
 * so between those moments the two sides legitimately differ:
 *
 * - a mint whose journal Alpaca confirmed and whose receipt is not recorded yet (`journaledNotMinted`:
 *   minting, a failed or reverted mint, or any state before the mint such as an approval) has its
 *   shares at Alpaca; its tokens exist only once its transaction is mined. Which it is, is asked of
 *   the chain (the flow's mint transactions), so it counts as awaiting the chain or as mined;
 * - a redemption Alpaca reported completed and not yet burnt (`awaitingBurn`) no longer has shares
 *   at Alpaca; its tokens are gone only once the burn is mined;
 * - a mint still waiting for its journal (`journalUnconfirmed`) may already have been journaled by
 *   Alpaca (Alpaca journals before it confirms), and a redemption Alpaca was asked about
 *   (`redeemAtAlpaca`) may already be completed there: those two are uncertain, and only widen the
 *   drift that counts as explained.
 *
 * Tokens held in the redemption wallet without Alpaca (an unknown sender, a halted asset, dust, a
 * return under way) are in the supply and still backed at Alpaca: no adjustment. A final state that
 * leaves shares and tokens apart (a mint rejected by an operator after its journal, a transfer
 * orphaned after Alpaca completed) is a drift until it is settled by hand.
 *
 * Mined-but-unrecorded mints and burns also explain the receipt inventory being behind the chain:
 * a receipt is recorded when its mint is confirmed, and drawn down when its burn is.
 */

/** Which flows are in flight, by their state's tag; the mint or burn transactions are asked of the chain. */
const IN_FLIGHT: Array<InFlightSelection<InFlightKind>> = [
  { flowType: 'mint', tag: TAGS.journalUnconfirmed, kind: 'mintAwaitingJournal' },
  { flowType: 'mint', tag: TAGS.journaledNotMinted, kind: 'mintJournaled', supplyTransactions: 'mint' },
  { flowType: 'redemption', tag: TAGS.redeemAtAlpaca, kind: 'redemptionAtAlpaca' },
  // Only the flow's own burn changes the supply (a return to sender moves tokens, no more).
  { flowType: 'redemption', tag: TAGS.awaitingBurn, kind: 'redemptionToBurn', supplyTransactions: 'burn' },
];

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

export async function readDatabaseSide(db: Database): Promise<DatabaseSide> {
  const { flows, inventory } = await new ReserveStore(db).readSnapshot(IN_FLIGHT);
  return {
    flows: flows.map(({ flowId, kind, context: c, txHashes }) => ({
      flowId,
      kind,
      network: c.network,
      vaultAddress: String(c.vaultAddress).toLowerCase(),
      // A mint moves amountUnits; a redemption moves (and burns) what Alpaca redeems, qtyUnits: the dust stays.
      units: BigInt(kind.startsWith('mint') ? c.amountUnits : c.qtyUnits),
      txHashes,
    })),
    inventory,
  };
}
