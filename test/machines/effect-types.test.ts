import assert from 'node:assert/strict';
import { effectNames } from '../../machines/effects';
import { MINT_EFFECTS, type MintEffect, mintMachine } from '../../machines/mint';
import { REDEMPTION_EFFECTS } from '../../machines/redemption';
import type { MachineEffectAdapters } from '../../runtime/effect-adapter';
import { DEFAULT_MINT_SETTINGS, mintEffectAdapters } from '../../server/flows/mint';
import { DEFAULT_REDEMPTION_SETTINGS, redemptionEffectAdapters } from '../../server/flows/redemption';

/**
 * `MachineEffectAdapters` is what keeps adapters and machines in step: the proofs below are checked by
 * `tsc --noEmit` (each `@ts-expect-error` fails the build if its line ever compiles).
 */

type MintAdapters = MachineEffectAdapters<typeof mintMachine, MintEffect>;
const retry = { baseMs: 1, capMs: 1, maxAttempts: 1 };
const failed = () => ({ type: 'MINT_SUBMISSION_FAILED' as const, code: 'x', message: 'x' });
const submit: MintAdapters['submitMintTransaction'] = { run: async (p) => ({ type: 'MINT_TX_SENT', txHash: p.intentId, nonce: 1 }), retry, failed };
const confirm: MintAdapters['awaitMintConfirmations'] = { run: async (p) => ({ type: 'MINT_CONFIRMED', txHash: p.txHash, receiptId: 'r', blockNumber: 1 }), retry, failed };
const notify: MintAdapters['notifyAlpacaOfMint'] = { run: async () => ({ type: 'CALLBACK_ACKNOWLEDGED' }), retry, failed: () => ({ type: 'CALLBACK_FAILED', code: 'x', message: 'x' }) };

export const complete: MintAdapters = { submitMintTransaction: submit, awaitMintConfirmations: confirm, notifyAlpacaOfMint: notify };

// @ts-expect-error an adapter is missing (notifyAlpacaOfMint)
export const missing: MintAdapters = { submitMintTransaction: submit, awaitMintConfirmations: confirm };

export const misnamed: MintAdapters = {
  submitMintTransaction: submit,
  awaitMintConfirmations: confirm,
  notifyAlpacaOfMint: notify,
  // @ts-expect-error a key that names no effect of the machine
  notifyAlpacaOfMints: notify,
};

export const wrongEvent: MintAdapters = {
  submitMintTransaction: {
    // @ts-expect-error the adapter answers with an event the mint machine does not know
    run: async () => ({ type: 'NOT_A_MINT_EVENT' }),
    retry,
    failed,
  },
  awaitMintConfirmations: confirm,
  notifyAlpacaOfMint: notify,
};

export const wrongParamAccess: MintAdapters = {
  submitMintTransaction: submit,
  awaitMintConfirmations: {
    // @ts-expect-error reading a param the machine does not give (no recipient on awaitMintConfirmations)
    run: async (p) => ({ type: 'MINT_CONFIRMED', txHash: p.recipient, receiptId: 'r', blockNumber: 1 }),
    retry,
    failed,
  },
  notifyAlpacaOfMint: notify,
};

describe('effect adapters match their machines', () => {
  it('mintEffectAdapters provides exactly the effects in MINT_EFFECTS', () => {
    // The adapters only capture their dependencies when built.
    const adapters = mintEffectAdapters(new Map(), {} as any, DEFAULT_MINT_SETTINGS);
    assert.deepEqual(Object.keys(adapters).sort(), effectNames(MINT_EFFECTS).sort());
    assert.deepEqual(effectNames(MINT_EFFECTS).sort(), ['awaitMintConfirmations', 'notifyAlpacaOfMint', 'submitMintTransaction']);
  });
  it('redemptionEffectAdapters provides exactly the effects in REDEMPTION_EFFECTS', () => {
    const adapters = redemptionEffectAdapters({} as any, new Map(), {} as any, DEFAULT_REDEMPTION_SETTINGS);
    assert.deepEqual(Object.keys(adapters).sort(), effectNames(REDEMPTION_EFFECTS).sort());
    assert.deepEqual(effectNames(REDEMPTION_EFFECTS).sort(), ['awaitBurnConfirmations', 'pollRedemption', 'requestRedemption', 'returnTokensToSender', 'submitBurn']);
  });
  it('the hand-written complete adapter set type-checks and has the three mint effects', () => {
    assert.deepEqual(Object.keys(complete).sort(), effectNames(MINT_EFFECTS).sort());
  });
});
