import { errorResponse, type JsonSchema, nullable, object, ok, type Paths, responseRef } from './building-blocks';
import { operatorSecurity } from './components';

/** What the gate in front of every operator route answers. */
const OPERATOR_GATE = { 401: responseRef('OperatorUnauthorized'), 403: responseRef('NotAllowedAddress'), 429: responseRef('RateLimited'), 500: responseRef('InternalError') };

const shares = (description: string): JsonSchema => ({ type: 'string', pattern: '^-?[0-9]+(\\.[0-9]+)?$', description });
const maybeShares = (description: string): JsonSchema => ({ ...nullable({ type: 'string', pattern: '^-?[0-9]+(\\.[0-9]+)?$' }), description });
const status: JsonSchema = { type: 'string', enum: ['reconciled', 'drift', 'unavailable'] };
const flowAmount = (description: string): JsonSchema => ({ ...object({ flows: { type: 'integer', minimum: 0 }, shares: shares('Shares they move.') }), description });

const inFlight = object({
  mints_awaiting_chain: flowAmount('Journal confirmed, tokens not mined yet: added to what Alpaca should hold.'),
  redemptions_awaiting_burn: flowAmount('Completed at Alpaca, tokens not burnt yet: taken off what Alpaca should hold.'),
  mints_awaiting_journal: flowAmount('Waiting for the journal confirm: Alpaca may already hold these (widens the explained drift upward).'),
  redemptions_awaiting_alpaca: flowAmount('Sent to Alpaca, completion not seen: Alpaca may already have released these (widens it downward).'),
  mints_mined_unrecorded: flowAmount('Mined, receipt not yet in the inventory.'),
  burns_mined_unrecorded: flowAmount('Burnt, inventory not yet drawn down.'),
});

const network = object({
  network: { type: 'string' },
  token_symbol: { type: 'string' },
  vault_address: { type: 'string' },
  decimals: { type: 'integer', minimum: 0 },
  block_number: { ...nullable({ type: 'integer', minimum: 0 }), description: 'The block every chain figure was read at.' },
  onchain_supply: maybeShares('Vault totalSupply.'),
  receipt_inventory: maybeShares('Σ shares_remaining of the receipts held for this vault.'),
  in_flight: nullable(inFlight),
  expected_receipt_inventory: maybeShares('onchain_supply − mints_mined_unrecorded + burns_mined_unrecorded.'),
  inventory_drift: maybeShares('receipt_inventory − expected_receipt_inventory.'),
  inventory_within_tolerance: nullable({ type: 'boolean' }),
  error: { ...nullable({ type: 'string' }), description: 'Why this network could not be read.' },
});

const asset = object({
  underlying_symbol: { type: 'string' },
  token_symbols: { type: 'array', items: { type: 'string' } },
  status,
  alpaca_shares: maybeShares("The issuer account's position at Alpaca."),
  expected_alpaca_shares: maybeShares('Σ over networks of onchain_supply + mints_awaiting_chain − redemptions_awaiting_burn.'),
  drift: maybeShares('alpaca_shares − expected_alpaca_shares.'),
  explained_drift: { ...nullable(object({ min: shares('−redemptions_awaiting_alpaca'), max: shares('+mints_awaiting_journal') })), description: 'The drift flows in flight can explain.' },
  within_tolerance: { ...nullable({ type: 'boolean' }), description: 'The drift lies within the explained range widened by the tolerance.' },
  networks: { type: 'array', items: network },
  error: nullable({ type: 'string' }),
});

const report = object({
  generated_at: { type: 'string', format: 'date-time' },
  tolerance: shares('RECONCILIATION_TOLERANCE_SHARES'),
  status,
  assets: { type: 'array', items: asset },
  alerts: {
    type: 'array',
    items: object({ underlying_symbol: { type: 'string' }, network: nullable({ type: 'string' }), kind: { type: 'string', enum: ['reserve_drift', 'inventory_drift', 'unavailable'] }, message: { type: 'string' } }),
  },
});

export const reconciliationPaths: Paths = {
  '/operator/reconciliation': {
    get: {
      operationId: 'reconcileReserves',
      summary: 'Reconcile reserves now: shares held at Alpaca against tokens outstanding on chain and the receipt inventory',
      description: [
        'Per underlying symbol: the position Alpaca reports for the issuer account against Σ over its networks of the vault supply, adjusted for flows in flight',
        '(mints journaled but not mined add, redemptions completed at Alpaca but not burnt subtract; mints awaiting their journal and redemptions awaiting Alpaca widen the drift that counts as explained).',
        'Per vault: the receipt inventory against the supply, adjusted for mints and burns mined but not yet recorded.',
        'A drift beyond RECONCILIATION_TOLERANCE_SHARES is read again once before it is reported; it answers 200 with `status: "drift"` and an alert, sets `issuance_reserve_reconciled{asset}` to 0 and logs a warning.',
      ].join(' '),
      tags: ['operator'],
      security: operatorSecurity,
      responses: {
        200: ok('The report.', report),
        400: errorResponse('This endpoint takes no query parameters.', { validation: true }),
        503: errorResponse('This instance has no chain and Alpaca connection to reconcile with.', { codes: ['reconciliation_unavailable'] }),
        ...OPERATOR_GATE,
      },
    },
  },
};
