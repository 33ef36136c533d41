import { assign, cancel, raise, setup } from 'xstate';

/**
 * One tokenization request (a mint), from Alpaca's request to Alpaca's callback.
 *
 *   awaitingJournal ──JOURNAL_CONFIRMED──▶ minting.submitting ──MINT_TX_SENT──▶ minting.confirming
 *        │  └─JOURNAL_REJECTED──▶ journalRejected (final)            │ MINT_CONFIRMED
 *        └─(timer) JOURNAL_CONFIRMATION_TIMED_OUT──▶ journalOverdue   ▼
 *                                                   callingBack ──CALLBACK_ACKNOWLEDGED──▶ completed
 *
 * Failures stop in states tagged `needsOperator`, each with the operator event that resumes it.
 * Pure: no I/O, no clock. Effects are named actions the host writes to the outbox; their results
 * come back as events. Loads in Stately Studio as is.
 */

export const MINT_MACHINE_VERSION = 'mint@1';

export interface MintInput {
  tokenizationRequestId: string;
  issuerRequestId: string;
  /** sha-256 of the normalized request: a repeat with another body is refused. */
  requestHash: string;
  apId: string;
  /** The client id field Alpaca used, echoed in the callback. */
  clientRef: { client_external_account_id: string } | { client_account_id: string };
  assetId: string;
  underlyingSymbol: string;
  tokenSymbol: string;
  network: string;
  vaultAddress: string;
  decimals: number;
  walletAddress: string;
  qty: string;
  /** qty in token base units, as a decimal string (bigint does not survive JSON). */
  amountUnits: string;
  journalTimeoutMs: number;
}

export interface MintContext extends MintInput {
  journalStatus?: 'completed' | 'rejected';
  /** Bumped only after a transaction that reverted: the transaction manager keys one transaction per attempt. */
  mintAttempt: number;
  txHash?: string;
  nonce?: number;
  receiptId?: string;
  blockNumber?: number;
  failure?: { code: string; message: string };
}

export type MintEvent =
  | { type: 'JOURNAL_CONFIRMED' }
  | { type: 'JOURNAL_REJECTED' }
  | { type: 'JOURNAL_CONFIRMATION_TIMED_OUT' }
  | { type: 'MINT_TX_SENT'; txHash: string; nonce: number }
  | { type: 'MINT_SUBMISSION_FAILED'; code: string; message: string }
  | { type: 'MINT_CONFIRMED'; txHash: string; receiptId: string; blockNumber: number }
  | { type: 'MINT_REVERTED'; txHash?: string; code: string; message: string }
  | { type: 'CALLBACK_ACKNOWLEDGED' }
  | { type: 'CALLBACK_FAILED'; code: string; message: string }
  // `operator`: who sent it (set by the operator API from the caller's identity), kept in the journal.
  | { type: 'OPERATOR_RETRY_MINT'; note?: string; operator?: string }
  | { type: 'OPERATOR_RETRY_CALLBACK'; note?: string; operator?: string }
  | { type: 'OPERATOR_CLOSE'; note?: string; operator?: string };

/** Effect parameters, as the adapters receive them. */
export interface SubmitMintParams {
  intentId: string;
  network: string;
  vaultAddress: string;
  recipient: string;
  amountUnits: string;
  tokenizationRequestId: string;
}
export interface AwaitMintParams {
  intentId: string;
  network: string;
  vaultAddress: string;
  txHash: string;
}
export interface NotifyAlpacaParams {
  tokenization_request_id: string;
  tx_hash: string;
  wallet_address: string;
  network: string;
  client_external_account_id?: string;
  client_account_id?: string;
}

export const mintMachine = setup({
  types: {
    context: {} as MintContext,
    events: {} as MintEvent,
    input: {} as MintInput,
  },
  actions: {
    // Effects: the host turns these into outbox rows; adapters in chain/ and alpaca/ perform them.
    submitMintTransaction: (_: unknown, _params: SubmitMintParams) => undefined,
    awaitMintConfirmations: (_: unknown, _params: AwaitMintParams) => undefined,
    notifyAlpacaOfMint: (_: unknown, _params: NotifyAlpacaParams) => undefined,
    recordJournal: assign((_, params: { status: 'completed' | 'rejected' }) => ({ journalStatus: params.status })),
    recordFailure: assign((_, params: { code: string; message: string }) => ({ failure: { code: params.code, message: params.message } })),
    clearFailure: assign({ failure: undefined }),
  },
  delays: {
    journalTimeout: ({ context }) => context.journalTimeoutMs,
  },
}).createMachine({
  id: 'mint',
  context: ({ input }) => ({ ...input, mintAttempt: 1 }),
  initial: 'awaitingJournal',
  states: {
    awaitingJournal: {
      description: 'Accepted; Alpaca is journaling the shares to the issuer and will confirm or reject.',
      entry: raise({ type: 'JOURNAL_CONFIRMATION_TIMED_OUT' }, { delay: 'journalTimeout', id: 'journalTimeout' }),
      exit: cancel('journalTimeout'),
      on: {
        JOURNAL_CONFIRMED: { target: 'minting', actions: { type: 'recordJournal', params: { status: 'completed' } } },
        JOURNAL_REJECTED: { target: 'journalRejected', actions: { type: 'recordJournal', params: { status: 'rejected' } } },
        JOURNAL_CONFIRMATION_TIMED_OUT: 'journalOverdue',
      },
    },
    journalOverdue: {
      description: 'No confirmation within the configured time. A late confirm is still honoured; an operator may close it.',
      tags: ['needsOperator'],
      on: {
        JOURNAL_CONFIRMED: { target: 'minting', actions: { type: 'recordJournal', params: { status: 'completed' } } },
        JOURNAL_REJECTED: { target: 'journalRejected', actions: { type: 'recordJournal', params: { status: 'rejected' } } },
        OPERATOR_CLOSE: 'closedByOperator',
      },
    },
    journalRejected: { type: 'final', description: 'Alpaca rejected the journal: nothing is minted.' },
    closedByOperator: { type: 'final' },
    minting: {
      description: 'Shares are ours: mint on chain until it is done or an operator is needed.',
      initial: 'submitting',
      states: {
        submitting: {
          entry: {
            type: 'submitMintTransaction',
            params: ({ context }) => ({
              intentId: `mint:${context.tokenizationRequestId}#${context.mintAttempt}`,
              network: context.network,
              vaultAddress: context.vaultAddress,
              recipient: context.walletAddress,
              amountUnits: context.amountUnits,
              tokenizationRequestId: context.tokenizationRequestId,
            }),
          },
          on: {
            MINT_TX_SENT: {
              target: 'confirming',
              actions: assign({ txHash: ({ event }) => event.txHash, nonce: ({ event }) => event.nonce }),
            },
            MINT_SUBMISSION_FAILED: { target: '#mint.mintSubmissionFailed', actions: { type: 'recordFailure', params: ({ event }) => event } },
            MINT_REVERTED: { target: '#mint.mintReverted', actions: { type: 'recordFailure', params: ({ event }) => event } },
          },
        },
        confirming: {
          entry: {
            type: 'awaitMintConfirmations',
            params: ({ context }) => ({
              intentId: `mint:${context.tokenizationRequestId}#${context.mintAttempt}`,
              network: context.network,
              vaultAddress: context.vaultAddress,
              txHash: context.txHash!,
            }),
          },
          on: {
            MINT_CONFIRMED: {
              target: '#mint.callingBack',
              actions: assign({ txHash: ({ event }) => event.txHash, receiptId: ({ event }) => event.receiptId, blockNumber: ({ event }) => event.blockNumber }),
            },
            MINT_REVERTED: { target: '#mint.mintReverted', actions: { type: 'recordFailure', params: ({ event }) => event } },
            MINT_SUBMISSION_FAILED: { target: '#mint.mintSubmissionFailed', actions: { type: 'recordFailure', params: ({ event }) => event } },
          },
        },
      },
    },
    mintSubmissionFailed: {
      description: 'The transaction could not be confirmed within the retry budget (node unreachable, stuck). The same signed transaction is resumed on retry, never a second one.',
      tags: ['needsOperator'],
      on: { OPERATOR_RETRY_MINT: { target: 'minting', actions: 'clearFailure' } },
    },
    mintReverted: {
      description: 'The vault refused the mint (role, certification, freeze). Fix the cause, then retry with a new transaction.',
      tags: ['needsOperator'],
      on: {
        OPERATOR_RETRY_MINT: { target: 'minting', actions: ['clearFailure', assign({ mintAttempt: ({ context }) => context.mintAttempt + 1 })] },
      },
    },
    callingBack: {
      description: 'Minted; telling Alpaca the transaction hash.',
      entry: {
        type: 'notifyAlpacaOfMint',
        params: ({ context }) => ({
          tokenization_request_id: context.tokenizationRequestId,
          tx_hash: context.txHash!,
          wallet_address: context.walletAddress,
          network: context.network,
          ...context.clientRef,
        }),
      },
      on: {
        CALLBACK_ACKNOWLEDGED: 'completed',
        CALLBACK_FAILED: { target: 'callbackFailed', actions: { type: 'recordFailure', params: ({ event }) => event } },
      },
    },
    callbackFailed: {
      description: 'Minted, but Alpaca did not take the callback within the retry budget.',
      tags: ['needsOperator'],
      on: { OPERATOR_RETRY_CALLBACK: { target: 'callingBack', actions: 'clearFailure' } },
    },
    completed: { type: 'final' },
  },
});
