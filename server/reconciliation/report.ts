/** The reconciliation report, as the operator API, the CLI and the console read it. Amounts are decimal strings of shares. */

export type ReconciliationStatus = 'reconciled' | 'drift' | 'unavailable';

export interface FlowAmount {
  flows: number;
  shares: string;
}

/** What the flows in flight move (server/reconciliation/in-flight.ts says why each counts). */
export interface InFlightAmounts {
  /** Journal confirmed, tokens not on chain yet: Alpaca already holds these shares. Added to the expectation. */
  mints_awaiting_chain: FlowAmount;
  /** Alpaca completed the redemption, the tokens are not burnt yet: Alpaca no longer holds these shares. Taken off the expectation. */
  redemptions_awaiting_burn: FlowAmount;
  /** Waiting for Alpaca's journal confirm: Alpaca may already hold these shares. Widens the explained drift upward. */
  mints_awaiting_journal: FlowAmount;
  /** Sent to Alpaca, completion not seen yet: Alpaca may already have released these shares. Widens the explained drift downward. */
  redemptions_awaiting_alpaca: FlowAmount;
  /** Minted on chain, receipt not recorded yet: the inventory is behind the supply by these. */
  mints_mined_unrecorded: FlowAmount;
  /** Burnt on chain, inventory not drawn down yet: the inventory is ahead of the supply by these. */
  burns_mined_unrecorded: FlowAmount;
}

/** One vault (one token on one network) of an asset. */
export interface NetworkReading {
  network: string;
  token_symbol: string;
  vault_address: string;
  decimals: number;
  /** The block every chain figure was read at. */
  block_number: number | null;
  /** Vault `totalSupply`: every token outstanding, the redemption wallet's included. */
  onchain_supply: string | null;
  /** Σ `shares_remaining` of the receipts the issuer holds for this vault. */
  receipt_inventory: string | null;
  in_flight: InFlightAmounts | null;
  /** onchain_supply − mints_mined_unrecorded + burns_mined_unrecorded. */
  expected_receipt_inventory: string | null;
  /** receipt_inventory − expected_receipt_inventory. */
  inventory_drift: string | null;
  inventory_within_tolerance: boolean | null;
  /** Why this network could not be read (then every figure is null). */
  error: string | null;
}

/** One underlying symbol: Alpaca holds one position for it, whatever the networks it is tokenized on. */
export interface AssetReading {
  underlying_symbol: string;
  token_symbols: string[];
  status: ReconciliationStatus;
  /** The issuer account's position at Alpaca. */
  alpaca_shares: string | null;
  /** Σ over networks of onchain_supply + mints_awaiting_chain − redemptions_awaiting_burn. */
  expected_alpaca_shares: string | null;
  /** alpaca_shares − expected_alpaca_shares. */
  drift: string | null;
  /** The drift the uncertain flows can explain: [−redemptions_awaiting_alpaca, +mints_awaiting_journal]. */
  explained_drift: { min: string; max: string } | null;
  /** Whether the drift lies within the explained range widened by the tolerance on both sides. */
  within_tolerance: boolean | null;
  networks: NetworkReading[];
  error: string | null;
}

export interface ReconciliationAlert {
  underlying_symbol: string;
  network: string | null;
  kind: 'reserve_drift' | 'inventory_drift' | 'unavailable';
  message: string;
}

export interface ReconciliationReport {
  generated_at: string;
  /** RECONCILIATION_TOLERANCE_SHARES. */
  tolerance: string;
  status: ReconciliationStatus;
  assets: AssetReading[];
  alerts: ReconciliationAlert[];
}
