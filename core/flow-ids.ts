/**
 * Flow ids, built from the request or transfer they stand for. They are keys, never parsed: what
 * other code needs of a flow (its kind, the transfer's generation) is a column or its context.
 */
export const MINT_FLOW_PREFIX = 'mint:';

/** One mint per tokenization request: the id is the idempotency key of the whole mint. */
export const mintFlowId = (tokenizationRequestId: string) => `${MINT_FLOW_PREFIX}${tokenizationRequestId}`;

/** One redemption per transfer log, and one more each time a reorg removed it and it was mined again. */
export const redemptionFlowId = (network: string, txHash: string, logIndex: number, generation = 0) =>
  `redemption:${network}:${txHash}:${logIndex}${generation ? `:${generation}` : ''}`;
