import { assign, cancel, raise, setup } from 'xstate';
import { effect, type EffectName } from './effects';

/**
 * One redemption: an AP sent share tokens to our redemption wallet; we tell Alpaca, wait until Alpaca
 * has journaled the shares back to the AP, then burn the tokens against receipts we hold.
 *
 *   detected ─▶ callingAlpaca ─REDEEM_ACCEPTED─▶ awaitingAlpaca.checking ⇄ awaitingAlpaca.waiting (durable timer)
 *                                                   │ ALPACA_COMPLETED
 *                                                   ▼
 *                                  burning.submitting ─BURN_TX_SENT─▶ burning.confirming ─BURN_CONFIRMED─▶ completed
 *
 * Nothing is burnt before Alpaca reports the redemption completed. Every failure stops in a state
 * tagged `needsOperator`, naming the operator events that resume it. Pure: no I/O, no clock.
 */

export const REDEMPTION_MACHINE_VERSION = 'redemption@1';

export interface RedemptionInput {
  network: string;
  txHash: string;
  logIndex: number;
  blockNumber: number;
  sender: string;
  /** Token amount received, in base units (decimal string). */
  amountUnits: string;
  assetId: string;
  underlyingSymbol: string;
  tokenSymbol: string;
  vaultAddress: string;
  decimals: number;
  /** The AP that registered the sender wallet, if any (a transfer from anyone else is never redeemed automatically). */
  apId: string | null;
  clientRef: { client_external_account_id: string } | { client_account_id: string } | null;
  assetHalted: boolean;
  /**
   * Set when this transfer would take the asset's redemptions of the (UTC) day over its daily
   * redemption cap: the cap and what was already redeemed that day (quantities). Held for an operator.
   */
  overDailyCap?: { cap: string; redeemedToday: string } | null;
  /**
   * When the same transfer was seen before, reorganised away, and is now mined again: the state its
   * earlier flow ended in (else null). The machine decides what that means.
   */
  earlierFlowState: string | null;
  /** What Alpaca is asked to redeem: the amount rounded down to 9 dp. */
  qty: string;
  qtyUnits: string;
  /** The remainder below 9 dp, kept in the redemption wallet (README: dust policy). */
  dustUnits: string;
  pollIntervalMs: number;
  alpacaDeadlineMs: number;
}

export interface RedemptionContext extends RedemptionInput {
  /** Bumped when a redeem must be sent again after Alpaca rejected it: an issuer request id is single use. */
  redeemAttempt: number;
  burnAttempt: number;
  tokenizationRequestId?: string;
  alpacaStatus?: string;
  burnTxHash?: string;
  receiptsUsed?: Array<{ receiptId: string; amountUnits: string }>;
  returnTxHash?: string;
  failure?: { code: string; message: string };
}

export type RedemptionEvent =
  | { type: 'REDEEM_ACCEPTED'; tokenizationRequestId: string; status: string }
  | { type: 'REDEEM_REJECTED'; code: string; message: string }
  | { type: 'REDEEM_FAILED'; code: string; message: string }
  | { type: 'ALPACA_PENDING' }
  | { type: 'ALPACA_COMPLETED' }
  | { type: 'ALPACA_REJECTED' }
  | { type: 'POLL_DUE' }
  | { type: 'ALPACA_DEADLINE_PASSED' }
  | { type: 'BURN_TX_SENT'; txHash: string; receipts: Array<{ receiptId: string; amountUnits: string }> }
  | { type: 'BURN_CONFIRMED'; txHash: string }
  | { type: 'BURN_REVERTED'; code: string; message: string }
  | { type: 'BURN_FAILED'; code: string; message: string }
  | { type: 'INVENTORY_INSUFFICIENT'; code: string; message: string }
  | { type: 'TOKENS_RETURNED'; txHash: string }
  | { type: 'RETURN_FAILED'; code: string; message: string }
  | { type: 'TRANSFER_ORPHANED'; blockNumber: number }
  // `operator`: who sent it (set by the operator API from the caller's identity), kept in the journal.
  | { type: 'OPERATOR_RETRY'; note?: string; operator?: string }
  | { type: 'OPERATOR_RETURN_TO_SENDER'; note?: string; operator?: string }
  | { type: 'OPERATOR_CLOSE'; note?: string; operator?: string };

export const redemptionIssuerRequestId = (c: Pick<RedemptionContext, 'txHash' | 'logIndex' | 'redeemAttempt'>) =>
  `red-${c.txHash.slice(2, 18)}-${c.logIndex}-${c.redeemAttempt}`;

export interface RequestRedemptionParams {
  issuerRequestId: string;
  idempotencyKey: string;
  underlying_symbol: string;
  token_symbol: string;
  qty: string;
  network: string;
  wallet_address: string;
  tx_hash: string;
  clientRef: { client_external_account_id: string } | { client_account_id: string };
}
export interface PollRedemptionParams {
  tokenizationRequestId: string;
  issuerRequestId: string;
}
export interface BurnParams {
  intentId: string;
  network: string;
  vaultAddress: string;
  amountUnits: string;
  redemptionFlowTx: string;
}
export interface AwaitBurnParams {
  intentId: string;
  network: string;
  txHash: string;
}
export interface ReturnTokensParams {
  intentId: string;
  network: string;
  vaultAddress: string;
  recipient: string;
  amountUnits: string;
}

/** The redemption's effects, performed by adapters (chain/, alpaca/) after commit. */
export const REDEMPTION_EFFECTS = {
  requestRedemption: effect<RequestRedemptionParams>(),
  pollRedemption: effect<PollRedemptionParams>(),
  submitBurn: effect<BurnParams>(),
  awaitBurnConfirmations: effect<AwaitBurnParams>(),
  returnTokensToSender: effect<ReturnTokensParams>(),
};
export type RedemptionEffect = EffectName<typeof REDEMPTION_EFFECTS>;

export const redemptionMachine = setup({
  types: {
    context: {} as RedemptionContext,
    events: {} as RedemptionEvent,
    input: {} as RedemptionInput,
  },
  actions: {
    ...REDEMPTION_EFFECTS,
    recordFailure: assign((_, params: { code: string; message: string }) => ({ failure: { code: params.code, message: params.message } })),
    clearFailure: assign({ failure: undefined }),
  },
  guards: {
    senderUnknown: ({ context }) => context.apId === null,
    // Seen before and acted on (anything but withdrawn untouched): never redeemed twice automatically.
    reappearedAfterAction: ({ context }) => context.earlierFlowState != null && context.earlierFlowState !== 'withdrawnByReorg',
    assetHalted: ({ context }) => context.assetHalted,
    overDailyCap: ({ context }) => context.overDailyCap != null,
    nothingToRedeem: ({ context }) => BigInt(context.qtyUnits) === 0n,
  },
  delays: {
    pollInterval: ({ context }) => context.pollIntervalMs,
    alpacaDeadline: ({ context }) => context.alpacaDeadlineMs,
  },
}).createMachine({
  id: 'redemption',
  context: ({ input }) => ({ ...input, redeemAttempt: 1, burnAttempt: 1 }),
  initial: 'detected',
  states: {
    detected: {
      description: 'A confirmed transfer to the redemption wallet.',
      always: [
        { guard: 'reappearedAfterAction', target: 'reappearedAfterReorg' },
        { guard: 'senderUnknown', target: 'unknownSender' },
        { guard: 'nothingToRedeem', target: 'belowAlpacaPrecision' },
        { guard: 'assetHalted', target: 'assetHalted' },
        {
          guard: 'overDailyCap',
          target: 'dailyCapExceeded',
          actions: {
            type: 'recordFailure',
            params: ({ context }) => ({
              code: 'daily_redemption_cap_exceeded',
              message: `${context.qty} ${context.underlyingSymbol} would exceed the daily redemption cap of ${context.overDailyCap!.cap} (${context.overDailyCap!.redeemedToday} redeemed today)`,
            }),
          },
        },
        { target: 'callingAlpaca' },
      ],
    },
    reappearedAfterReorg: {
      description: 'A transfer we had already acted on was reorganised away and then mined again. Held until an operator reconciles it with the earlier flow.',
      tags: ['needsOperator', 'redeemNotRequested'],
      on: { OPERATOR_RETRY: 'callingAlpaca', OPERATOR_RETURN_TO_SENDER: 'returningTokens', OPERATOR_CLOSE: 'closedByOperator', TRANSFER_ORPHANED: 'withdrawnByReorg' },
    },
    unknownSender: {
      description: 'The sender is not a wallet registered to any linked AP. Held; never redeemed automatically.',
      tags: ['needsOperator', 'redeemNotRequested'],
      on: { OPERATOR_RETURN_TO_SENDER: 'returningTokens', OPERATOR_CLOSE: 'closedByOperator', TRANSFER_ORPHANED: 'withdrawnByReorg' },
    },
    belowAlpacaPrecision: {
      description: 'Less than 1e-9 of a share: nothing Alpaca can redeem. Held as dust.',
      tags: ['needsOperator', 'redeemNotRequested'],
      on: { OPERATOR_RETURN_TO_SENDER: 'returningTokens', OPERATOR_CLOSE: 'closedByOperator', TRANSFER_ORPHANED: 'withdrawnByReorg' },
    },
    assetHalted: {
      description: 'The asset was halted when the transfer arrived. Held until an operator decides.',
      tags: ['needsOperator', 'redeemNotRequested'],
      on: { OPERATOR_RETRY: 'callingAlpaca', OPERATOR_RETURN_TO_SENDER: 'returningTokens', TRANSFER_ORPHANED: 'withdrawnByReorg' },
    },
    dailyCapExceeded: {
      description: "The transfer would take the asset's redemptions today over its daily cap. Held, Alpaca not called, until an operator releases it (retry) or returns the tokens.",
      tags: ['needsOperator', 'redeemNotRequested'],
      on: { OPERATOR_RETRY: { target: 'callingAlpaca', actions: 'clearFailure' }, OPERATOR_RETURN_TO_SENDER: 'returningTokens', TRANSFER_ORPHANED: 'withdrawnByReorg' },
    },
    callingAlpaca: {
      tags: ['redeemAtAlpaca'],
      entry: {
        type: 'requestRedemption',
        params: ({ context }) => ({
          issuerRequestId: redemptionIssuerRequestId(context),
          idempotencyKey: redemptionIssuerRequestId(context),
          underlying_symbol: context.underlyingSymbol,
          token_symbol: context.tokenSymbol,
          qty: context.qty,
          network: context.network,
          wallet_address: context.sender,
          tx_hash: context.txHash,
          clientRef: context.clientRef!,
        }),
      },
      on: {
        REDEEM_ACCEPTED: { target: 'awaitingAlpaca', actions: assign({ tokenizationRequestId: ({ event }) => event.tokenizationRequestId, alpacaStatus: ({ event }) => event.status }) },
        REDEEM_REJECTED: { target: 'alpacaRejected', actions: { type: 'recordFailure', params: ({ event }) => event } },
        REDEEM_FAILED: { target: 'redeemAttemptsExhausted', actions: { type: 'recordFailure', params: ({ event }) => event } },
        TRANSFER_ORPHANED: 'transferOrphaned',
      },
    },
    redeemAttemptsExhausted: {
      description: 'Alpaca could not be reached within the retry budget. Retrying reuses the same issuer request id and Idempotency-Key.',
      tags: ['needsOperator', 'redeemAtAlpaca'],
      on: { OPERATOR_RETRY: { target: 'callingAlpaca', actions: 'clearFailure' }, TRANSFER_ORPHANED: 'transferOrphaned' },
    },
    awaitingAlpaca: {
      tags: ['redeemAtAlpaca'],
      description: 'Alpaca accepted the redemption and journals the shares back to the AP; we poll until it is completed.',
      entry: raise({ type: 'ALPACA_DEADLINE_PASSED' }, { delay: 'alpacaDeadline', id: 'alpacaDeadline' }),
      exit: cancel('alpacaDeadline'),
      initial: 'checking',
      states: {
        checking: {
          entry: { type: 'pollRedemption', params: ({ context }) => ({ tokenizationRequestId: context.tokenizationRequestId!, issuerRequestId: redemptionIssuerRequestId(context) }) },
          on: {
            ALPACA_PENDING: 'waiting',
            ALPACA_COMPLETED: { target: '#redemption.burning', actions: assign({ alpacaStatus: 'completed' }) },
            ALPACA_REJECTED: { target: '#redemption.alpacaRejected', actions: [assign({ alpacaStatus: 'rejected' }), { type: 'recordFailure', params: { code: 'alpaca_rejected', message: 'Alpaca rejected the redemption' } }] },
          },
        },
        waiting: {
          entry: raise({ type: 'POLL_DUE' }, { delay: 'pollInterval', id: 'pollDue' }),
          exit: cancel('pollDue'),
          on: { POLL_DUE: 'checking' },
        },
      },
      on: {
        ALPACA_DEADLINE_PASSED: { target: 'alpacaOverdue', actions: { type: 'recordFailure', params: { code: 'alpaca_deadline', message: 'Alpaca did not complete the redemption in time' } } },
        TRANSFER_ORPHANED: 'transferOrphaned',
      },
    },
    alpacaOverdue: {
      description: 'Alpaca has not reported completion by the deadline. Nothing burnt; polling resumes on retry.',
      tags: ['needsOperator', 'redeemAtAlpaca'],
      on: { OPERATOR_RETRY: { target: 'awaitingAlpaca', actions: 'clearFailure' }, TRANSFER_ORPHANED: 'transferOrphaned' },
    },
    alpacaRejected: {
      description: 'Alpaca rejected the redemption (undocumented case). The tokens stay in the redemption wallet until an operator returns them or retries with a new issuer request id.',
      tags: ['needsOperator', 'redeemNotRequested'],
      on: {
        OPERATOR_RETURN_TO_SENDER: 'returningTokens',
        OPERATOR_RETRY: { target: 'callingAlpaca', actions: ['clearFailure', assign({ redeemAttempt: ({ context }) => context.redeemAttempt + 1 })] },
        TRANSFER_ORPHANED: 'transferOrphaned',
      },
    },
    burning: {
      tags: ['awaitingBurn'],
      initial: 'submitting',
      states: {
        submitting: {
          entry: {
            type: 'submitBurn',
            params: ({ context }) => ({
              intentId: `burn:${context.txHash}:${context.logIndex}#${context.burnAttempt}`,
              network: context.network,
              vaultAddress: context.vaultAddress,
              amountUnits: context.qtyUnits,
              redemptionFlowTx: context.txHash,
            }),
          },
          on: {
            BURN_TX_SENT: { target: 'confirming', actions: assign({ burnTxHash: ({ event }) => event.txHash, receiptsUsed: ({ event }) => event.receipts }) },
            INVENTORY_INSUFFICIENT: { target: '#redemption.insufficientInventory', actions: { type: 'recordFailure', params: ({ event }) => event } },
            BURN_REVERTED: { target: '#redemption.burnReverted', actions: { type: 'recordFailure', params: ({ event }) => event } },
            BURN_FAILED: { target: '#redemption.burnStalled', actions: { type: 'recordFailure', params: ({ event }) => event } },
          },
        },
        confirming: {
          entry: { type: 'awaitBurnConfirmations', params: ({ context }) => ({ intentId: `burn:${context.txHash}:${context.logIndex}#${context.burnAttempt}`, network: context.network, txHash: context.burnTxHash! }) },
          on: {
            BURN_CONFIRMED: '#redemption.completed',
            BURN_REVERTED: { target: '#redemption.burnReverted', actions: { type: 'recordFailure', params: ({ event }) => event } },
            BURN_FAILED: { target: '#redemption.burnStalled', actions: { type: 'recordFailure', params: ({ event }) => event } },
          },
        },
      },
      on: { TRANSFER_ORPHANED: '#redemption.transferOrphaned' },
    },
    insufficientInventory: {
      description: 'The receipts we hold do not back this burn. Nothing burnt.',
      tags: ['needsOperator', 'awaitingBurn'],
      on: { OPERATOR_RETRY: { target: 'burning', actions: 'clearFailure' } },
    },
    burnReverted: {
      description: 'The vault refused the burn. Fix the cause, then retry with a new transaction.',
      tags: ['needsOperator', 'awaitingBurn'],
      on: { OPERATOR_RETRY: { target: 'burning', actions: ['clearFailure', assign({ burnAttempt: ({ context }) => context.burnAttempt + 1 })] } },
    },
    burnStalled: {
      description: 'The burn transaction could not be confirmed within the budget; retry resumes the same signed transaction.',
      tags: ['needsOperator', 'awaitingBurn'],
      on: { OPERATOR_RETRY: { target: 'burning', actions: 'clearFailure' } },
    },
    returningTokens: {
      tags: ['redeemNotRequested'],
      entry: {
        type: 'returnTokensToSender',
        params: ({ context }) => ({ intentId: `return:${context.txHash}:${context.logIndex}`, network: context.network, vaultAddress: context.vaultAddress, recipient: context.sender, amountUnits: context.amountUnits }),
      },
      on: {
        TOKENS_RETURNED: { target: 'returnedToSender', actions: assign({ returnTxHash: ({ event }) => event.txHash }) },
        RETURN_FAILED: { target: 'returnFailed', actions: { type: 'recordFailure', params: ({ event }) => event } },
      },
    },
    returnFailed: {
      tags: ['needsOperator', 'redeemNotRequested'],
      on: { OPERATOR_RETRY: { target: 'returningTokens', actions: 'clearFailure' } },
    },
    transferOrphaned: {
      description: 'A reorg deeper than the confirmation depth removed the transfer after we acted on it. Nothing more is burnt; reconcile by hand.',
      tags: ['needsOperator'],
      on: { OPERATOR_CLOSE: 'closedByOperator' },
    },
    withdrawnByReorg: { type: 'final', tags: ['redeemNotRequested'], description: 'The transfer vanished in a reorg before anything was done about it.' },
    returnedToSender: { type: 'final', tags: ['redeemNotRequested'] },
    closedByOperator: { type: 'final', tags: ['redeemClosed'] },
    completed: { type: 'final', tags: ['burnRecorded'] },
  },
});
