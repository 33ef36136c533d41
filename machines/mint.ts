import { type AnyMachineSnapshot, assign, cancel, raise, setup } from 'xstate';
import { ALPACA_DECIMALS, toBaseUnits } from '../core/amounts';
import { DomainError } from '../core/errors';
import { TAGS } from './tags';
import { effect, type EffectName } from './effects';

/**
 * One tokenization request (a mint), from Alpaca's request to Alpaca's callback.
 *
 *   awaitingJournal ──JOURNAL_CONFIRMED──▶ minting.submitting ──MINT_TX_SENT──▶ minting.confirming
 *        │  └─JOURNAL_REJECTED──▶ journalRejected (final)            │ MINT_CONFIRMED
 *        └─(timer) JOURNAL_CONFIRMATION_TIMED_OUT──▶ journalOverdue   ▼
 *                                                   callingBack ──CALLBACK_ACKNOWLEDGED──▶ completed
 *
 * A confirmed journal whose quantity is above the approval threshold in force waits in
 * `awaitingApproval` (nothing signed) until two different operators approve it, or one rejects it.
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
  /** The approval threshold (a quantity) this mint was above when its journal was confirmed. */
  approvalThreshold?: string;
  /** The operator who approved first; a different one must approve before anything is signed. */
  approvedBy?: string;
  /** The second, different operator whose approval let the mint go ahead. */
  countersignedBy?: string;
  /** The operator who rejected the mint instead, and why. */
  rejectedBy?: string;
  rejectionNote?: string;
}

export type MintEvent =
  // `approvalThreshold`: the asset's approval threshold when the confirm arrived (absent: none set).
  | { type: 'JOURNAL_CONFIRMED'; approvalThreshold?: string }
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
  | { type: 'OPERATOR_CLOSE'; note?: string; operator?: string }
  | { type: 'OPERATOR_APPROVE'; note?: string; operator?: string }
  | { type: 'OPERATOR_REJECT'; note?: string; operator?: string };

/** Exact comparison of two quantities (decimal strings of at most 9 places), never through floats. */
const aboveQuantity = (qty: string, limit: string) => toBaseUnits(qty, ALPACA_DECIMALS) > toBaseUnits(limit, ALPACA_DECIMALS);

/**
 * Four eyes: the operator who approved first may not also give the second approval. The guard
 * `anotherOperator` refuses such an approval and `explainMintRefusal` says why, from this one rule.
 */
const isSameApprover = (context: Pick<MintContext, 'approvedBy'>, event: { operator?: string }) => event.operator === context.approvedBy;

/** Four eyes: the operator who gave a mint's first approval asked to give the second too. Nothing was written. */
export class SameOperatorCannotApproveError extends DomainError {
  constructor(state: string, approvedBy: string) {
    super('same_operator_cannot_approve', `${approvedBy} already approved this mint; a different operator must give the second approval`, { state, event: 'OPERATOR_APPROVE', approved_by: approvedBy });
  }
}

/**
 * Why the mint refuses an event when its generic refusal would say too little (the host asks through
 * FlowDefinition.explainRefusal): a second approval by the operator who gave the first.
 */
export function explainMintRefusal(snapshot: AnyMachineSnapshot, event: { type: string; operator?: unknown }): DomainError | undefined {
  const context = snapshot.context as MintContext;
  if (event.type !== 'OPERATOR_APPROVE' || !snapshot.hasTag(TAGS.secondApprovalPending) || context.approvedBy === undefined) return undefined;
  if (!isSameApprover(context, { operator: typeof event.operator === 'string' ? event.operator : undefined })) return undefined;
  return new SameOperatorCannotApproveError('awaitingApproval.endorsed', context.approvedBy);
}

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

/** The mint's effects: the host writes them to the outbox; adapters in chain/ and alpaca/ perform them. */
export const MINT_EFFECTS = {
  submitMintTransaction: effect<SubmitMintParams>(),
  awaitMintConfirmations: effect<AwaitMintParams>(),
  notifyAlpacaOfMint: effect<NotifyAlpacaParams>(),
};
export type MintEffect = EffectName<typeof MINT_EFFECTS>;

export const mintMachine = setup({
  types: {
    context: {} as MintContext,
    events: {} as MintEvent,
    input: {} as MintInput,
  },
  actions: {
    ...MINT_EFFECTS,
    recordJournal: assign((_, params: { status: 'completed' | 'rejected' }) => ({ journalStatus: params.status })),
    recordFailure: assign((_, params: { code: string; message: string }) => ({ failure: { code: params.code, message: params.message } })),
    clearFailure: assign({ failure: undefined }),
    recordApprovalThreshold: assign(({ event }) => ({ approvalThreshold: event.type === 'JOURNAL_CONFIRMED' ? event.approvalThreshold : undefined })),
    recordApproval: assign(({ event }) => ({ approvedBy: 'operator' in event ? event.operator : undefined })),
    recordCountersignature: assign(({ event }) => ({ countersignedBy: 'operator' in event ? event.operator : undefined })),
    recordRejection: assign(({ event }) => ({ rejectedBy: 'operator' in event ? event.operator : undefined, rejectionNote: 'note' in event ? event.note : undefined })),
  },
  guards: {
    aboveApprovalThreshold: ({ context, event }) => event.type === 'JOURNAL_CONFIRMED' && event.approvalThreshold !== undefined && aboveQuantity(context.qty, event.approvalThreshold),
    // The first approver cannot count twice. (The operator API names the operator on every event it sends.)
    anotherOperator: ({ context, event }) => !isSameApprover(context, event as { operator?: string }),
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
      tags: ['journalUnconfirmed'],
      description: 'Accepted; Alpaca is journaling the shares to the issuer and will confirm or reject.',
      entry: raise({ type: 'JOURNAL_CONFIRMATION_TIMED_OUT' }, { delay: 'journalTimeout', id: 'journalTimeout' }),
      exit: cancel('journalTimeout'),
      on: {
        JOURNAL_CONFIRMED: [
          { guard: 'aboveApprovalThreshold', target: 'awaitingApproval', actions: [{ type: 'recordJournal', params: { status: 'completed' } }, 'recordApprovalThreshold'] },
          { target: 'minting', actions: { type: 'recordJournal', params: { status: 'completed' } } },
        ],
        JOURNAL_REJECTED: { target: 'journalRejected', actions: { type: 'recordJournal', params: { status: 'rejected' } } },
        JOURNAL_CONFIRMATION_TIMED_OUT: 'journalOverdue',
      },
    },
    journalOverdue: {
      description: 'No confirmation within the configured time. A late confirm is still honoured; an operator may close it.',
      tags: ['needsOperator', 'journalUnconfirmed'],
      on: {
        JOURNAL_CONFIRMED: [
          { guard: 'aboveApprovalThreshold', target: 'awaitingApproval', actions: [{ type: 'recordJournal', params: { status: 'completed' } }, 'recordApprovalThreshold'] },
          { target: 'minting', actions: { type: 'recordJournal', params: { status: 'completed' } } },
        ],
        JOURNAL_REJECTED: { target: 'journalRejected', actions: { type: 'recordJournal', params: { status: 'rejected' } } },
        OPERATOR_CLOSE: 'closedByOperator',
      },
    },
    journalRejected: { type: 'final', tags: ['mintAbandoned'], description: 'Alpaca rejected the journal: nothing is minted.' },
    closedByOperator: { type: 'final', tags: ['mintAbandoned'] },
    awaitingApproval: {
      description: 'The journal is confirmed and the quantity is above the approval threshold. Nothing is signed until two different operators approve (four eyes), or one rejects.',
      tags: ['needsOperator', 'approvalPending', 'journaledNotMinted'],
      initial: 'pending',
      states: {
        pending: {
          description: 'No operator has approved yet.',
          on: { OPERATOR_APPROVE: { target: 'endorsed', actions: 'recordApproval' } },
        },
        endorsed: {
          tags: ['secondApprovalPending'],
          description: 'One operator approved; a different operator must approve too.',
          on: { OPERATOR_APPROVE: { guard: 'anotherOperator', target: '#mint.minting', actions: 'recordCountersignature' } },
        },
      },
      on: { OPERATOR_REJECT: { target: 'rejectedByOperator', actions: 'recordRejection' } },
    },
    rejectedByOperator: {
      tags: ['mintAbandoned'],
      type: 'final',
      description: 'An operator rejected the mint after the journal: nothing is minted. The shares Alpaca journaled to the issuer are settled with Alpaca by hand.',
    },
    minting: {
      tags: ['journaledNotMinted'],
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
      tags: ['needsOperator', 'journaledNotMinted'],
      on: { OPERATOR_RETRY_MINT: { target: 'minting', actions: 'clearFailure' } },
    },
    mintReverted: {
      description: 'The vault refused the mint (role, certification, freeze). Fix the cause, then retry with a new transaction.',
      tags: ['needsOperator', 'journaledNotMinted'],
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
