/**
 * Tags are what code outside machines/ knows of a flow's state: the host stores them with each
 * snapshot (`flows.tags`), and readers filter on them instead of naming states. Each is set on the
 * states of its machine that have the property; `test/machines/tags.test.ts` checks that every tag
 * here is used by its machine.
 */
export const TAGS = {
  /** A person must act: listed on the operator endpoints and in the console. (Both machines.) */
  needsOperator: 'needsOperator',
  /** Mint: above the approval threshold, waiting for two different operators (four eyes). */
  approvalPending: 'approvalPending',
  /** Mint: one operator approved; a different one must approve too. */
  secondApprovalPending: 'secondApprovalPending',
  /** Mint: Alpaca has not confirmed the journal; it may already have journaled (it journals first). */
  journalUnconfirmed: 'journalUnconfirmed',
  /** Mint: the journal is confirmed (the shares are the issuer's) and no mint receipt is recorded yet. */
  journaledNotMinted: 'journaledNotMinted',
  /** Mint: will never mint (journal rejected, rejected or closed by an operator); not counted against the daily mint cap. */
  mintAbandoned: 'mintAbandoned',
  /** Redemption: Alpaca was asked to redeem and may have completed it; no answer recorded yet. */
  redeemAtAlpaca: 'redeemAtAlpaca',
  /** Redemption: Alpaca completed it (the shares went back); the burn is not recorded yet. */
  awaitingBurn: 'awaitingBurn',
  /** Redemption: Alpaca was not (or not successfully) asked: held, rejected, returned or reorganised away; not counted against the daily redemption cap. */
  redeemNotRequested: 'redeemNotRequested',
  /** Redemption: closed by an operator; counted against the daily cap only if Alpaca took it. */
  redeemClosed: 'redeemClosed',
  /** Redemption: the burn is recorded and the receipts it used are drawn down. */
  burnRecorded: 'burnRecorded',
} as const;

export type Tag = (typeof TAGS)[keyof typeof TAGS];

/** Kept for the readers that predate TAGS. */
export const NEEDS_OPERATOR_TAG = TAGS.needsOperator;
