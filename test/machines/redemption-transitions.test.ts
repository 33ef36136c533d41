import assert from 'node:assert/strict';
import { type AnyStateNode, initialTransition, transition } from 'xstate';
import { REDEMPTION_EFFECTS, type RedemptionEvent, type RedemptionInput, redemptionMachine } from '../../machines/redemption';
import { effectNames } from '../../machines/effects';

/** Transitions of the redemption machine driven through xstate's pure transition functions: no service, no clock. */

const TX = '0x1234567890abcdef1234567890abcdef';
const INPUT: RedemptionInput = {
  network: 'ethereum',
  txHash: TX,
  logIndex: 3,
  blockNumber: 50,
  sender: '0xsender',
  amountUnits: '2000000000000000000',
  assetId: 'asset-1',
  underlyingSymbol: 'AAPL',
  tokenSymbol: 'AAPLx',
  vaultAddress: '0xvault',
  decimals: 18,
  apId: 'ap-1',
  clientRef: { client_external_account_id: 'ext-1' },
  assetHalted: false,
  overDailyCap: null,
  earlierFlowState: null,
  qty: '2',
  qtyUnits: '2000000000000000000',
  dustUnits: '0',
  pollIntervalMs: 30_000,
  alpacaDeadlineMs: 86_400_000,
};

type Snapshot = ReturnType<typeof initialTransition<typeof redemptionMachine>>[0];
type Actions = ReturnType<typeof initialTransition<typeof redemptionMachine>>[1];

const EFFECTS: string[] = effectNames(REDEMPTION_EFFECTS);
const ID_PREFIX = `red-${TX.slice(2, 18)}-3`;

function stateKey(value: unknown): string {
  if (typeof value === 'string') return value;
  const [[parent, child]] = Object.entries(value as Record<string, unknown>) as [[string, unknown]];
  return `${parent}.${stateKey(child)}`;
}

/** Starts the machine with `input` overrides and drives it through `events`; returns the last snapshot and that step's actions. */
function drive(events: RedemptionEvent[], input: Partial<RedemptionInput> = {}): { snapshot: Snapshot; actions: Actions } {
  let [snapshot, actions] = initialTransition(redemptionMachine, { ...INPUT, ...input });
  for (const event of events) {
    assert.ok(snapshot.can(event), `${stateKey(snapshot.value)} takes ${event.type}`);
    [snapshot, actions] = transition(redemptionMachine, snapshot, event);
  }
  return { snapshot, actions };
}

const effectsOf = (actions: Actions) => actions.filter((a) => EFFECTS.includes(a.type)).map((a) => ({ type: a.type, params: a.params as Record<string, unknown> }));

const ACCEPTED: RedemptionEvent = { type: 'REDEEM_ACCEPTED', tokenizationRequestId: 'tr-9', status: 'pending' };
const COMPLETED: RedemptionEvent = { type: 'ALPACA_COMPLETED' };
const SENT: RedemptionEvent = { type: 'BURN_TX_SENT', txHash: '0xburn', receipts: [{ receiptId: 'r-1', amountUnits: '2000000000000000000' }] };
const BURN_REVERTED: RedemptionEvent = { type: 'BURN_REVERTED', code: 'reverted', message: 'paused' };
const ORPHANED: RedemptionEvent = { type: 'TRANSFER_ORPHANED', blockNumber: 50 };
const RETURN: RedemptionEvent = { type: 'OPERATOR_RETURN_TO_SENDER', operator: 'alice' };
const UNKNOWN = { apId: null, clientRef: null };

/** How to reach every resting state: input overrides, then events. */
const PATHS: Record<string, { input?: Partial<RedemptionInput>; events: RedemptionEvent[] }> = {
  callingAlpaca: { events: [] },
  reappearedAfterReorg: { input: { earlierFlowState: 'completed' }, events: [] },
  unknownSender: { input: UNKNOWN, events: [] },
  belowAlpacaPrecision: { input: { qtyUnits: '0', qty: '0' }, events: [] },
  assetHalted: { input: { assetHalted: true }, events: [] },
  dailyCapExceeded: { input: { overDailyCap: { cap: '100', redeemedToday: '99' } }, events: [] },
  redeemAttemptsExhausted: { events: [{ type: 'REDEEM_FAILED', code: 'alpaca_timeout', message: 'timed out' }] },
  'awaitingAlpaca.checking': { events: [ACCEPTED] },
  'awaitingAlpaca.waiting': { events: [ACCEPTED, { type: 'ALPACA_PENDING' }] },
  alpacaOverdue: { events: [ACCEPTED, { type: 'ALPACA_DEADLINE_PASSED' }] },
  alpacaRejected: { events: [{ type: 'REDEEM_REJECTED', code: 'alpaca_422', message: 'bad' }] },
  'burning.submitting': { events: [ACCEPTED, COMPLETED] },
  'burning.confirming': { events: [ACCEPTED, COMPLETED, SENT] },
  insufficientInventory: { events: [ACCEPTED, COMPLETED, { type: 'INVENTORY_INSUFFICIENT', code: 'insufficient_inventory', message: 'no receipts' }] },
  burnReverted: { events: [ACCEPTED, COMPLETED, SENT, BURN_REVERTED] },
  burnStalled: { events: [ACCEPTED, COMPLETED, { type: 'BURN_FAILED', code: 'stuck', message: 'stuck' }] },
  returningTokens: { input: UNKNOWN, events: [RETURN] },
  returnFailed: { input: UNKNOWN, events: [RETURN, { type: 'RETURN_FAILED', code: 'no_gas', message: 'no gas' }] },
  transferOrphaned: { events: [ORPHANED] },
  withdrawnByReorg: { input: UNKNOWN, events: [ORPHANED] },
  returnedToSender: { input: UNKNOWN, events: [RETURN, { type: 'TOKENS_RETURNED', txHash: '0xret' }] },
  closedByOperator: { input: UNKNOWN, events: [{ type: 'OPERATOR_CLOSE' }] },
  completed: { events: [ACCEPTED, COMPLETED, SENT, { type: 'BURN_CONFIRMED', txHash: '0xburn' }] },
};
const reach = (state: string) => drive(PATHS[state]!.events, PATHS[state]!.input);

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(allNodes)];
}
const pathOf = (node: AnyStateNode) => node.path.join('.');

const retry: RedemptionEvent = { type: 'OPERATOR_RETRY', operator: 'alice' };
const close: RedemptionEvent = { type: 'OPERATOR_CLOSE', operator: 'alice' };
const OPERATOR_EVENTS: RedemptionEvent[] = [retry, RETURN, close];

/** Every operator transition the redemption declares, with where it leads and the effect it asks for. */
const OPERATOR_TRANSITIONS: Array<{ from: string; event: RedemptionEvent; to: string; effect?: string }> = [
  { from: 'reappearedAfterReorg', event: retry, to: 'callingAlpaca', effect: 'requestRedemption' },
  { from: 'reappearedAfterReorg', event: RETURN, to: 'returningTokens', effect: 'returnTokensToSender' },
  { from: 'reappearedAfterReorg', event: close, to: 'closedByOperator' },
  { from: 'unknownSender', event: RETURN, to: 'returningTokens', effect: 'returnTokensToSender' },
  { from: 'unknownSender', event: close, to: 'closedByOperator' },
  { from: 'belowAlpacaPrecision', event: RETURN, to: 'returningTokens', effect: 'returnTokensToSender' },
  { from: 'belowAlpacaPrecision', event: close, to: 'closedByOperator' },
  { from: 'assetHalted', event: retry, to: 'callingAlpaca', effect: 'requestRedemption' },
  { from: 'assetHalted', event: RETURN, to: 'returningTokens', effect: 'returnTokensToSender' },
  { from: 'dailyCapExceeded', event: retry, to: 'callingAlpaca', effect: 'requestRedemption' },
  { from: 'dailyCapExceeded', event: RETURN, to: 'returningTokens', effect: 'returnTokensToSender' },
  { from: 'redeemAttemptsExhausted', event: retry, to: 'callingAlpaca', effect: 'requestRedemption' },
  { from: 'alpacaOverdue', event: retry, to: 'awaitingAlpaca.checking', effect: 'pollRedemption' },
  { from: 'alpacaRejected', event: RETURN, to: 'returningTokens', effect: 'returnTokensToSender' },
  { from: 'alpacaRejected', event: retry, to: 'callingAlpaca', effect: 'requestRedemption' },
  { from: 'insufficientInventory', event: retry, to: 'burning.submitting', effect: 'submitBurn' },
  { from: 'burnReverted', event: retry, to: 'burning.submitting', effect: 'submitBurn' },
  { from: 'burnStalled', event: retry, to: 'burning.submitting', effect: 'submitBurn' },
  { from: 'returnFailed', event: retry, to: 'returningTokens', effect: 'returnTokensToSender' },
  { from: 'transferOrphaned', event: close, to: 'closedByOperator' },
];

describe('redemption machine transitions', () => {
  describe('state reachability', () => {
    it('the driving paths cover every leaf state except the transient detected', () => {
      const leaves = allNodes(redemptionMachine.root).filter((n) => Object.keys(n.states).length === 0).map(pathOf);
      assert.deepEqual(Object.keys(PATHS).sort(), leaves.filter((s) => s !== 'detected').sort());
    });
    for (const state of Object.keys(PATHS)) {
      it(`the path to ${state} rests there`, () => {
        assert.equal(stateKey(reach(state).snapshot.value), state);
      });
    }
  });

  describe('guards of detected (eventless, in priority order)', () => {
    it('reappearedAfterAction: earlierFlowState null goes on to callingAlpaca', () => {
      assert.equal(drive([], { earlierFlowState: null }).snapshot.value, 'callingAlpaca');
    });
    it("reappearedAfterAction: earlierFlowState 'withdrawnByReorg' (never acted on) goes on to callingAlpaca", () => {
      assert.equal(drive([], { earlierFlowState: 'withdrawnByReorg' }).snapshot.value, 'callingAlpaca');
    });
    for (const earlier of ['completed', 'closedByOperator', 'awaitingAlpaca', 'returnedToSender']) {
      it(`reappearedAfterAction: earlierFlowState '${earlier}' is held in reappearedAfterReorg with no effect`, () => {
        const { snapshot, actions } = drive([], { earlierFlowState: earlier });
        assert.equal(snapshot.value, 'reappearedAfterReorg');
        assert.deepEqual(effectsOf(actions), []);
      });
    }
    it('senderUnknown: apId null is held in unknownSender, Alpaca not called', () => {
      const { snapshot, actions } = drive([], UNKNOWN);
      assert.equal(snapshot.value, 'unknownSender');
      assert.deepEqual(effectsOf(actions), []);
    });
    it('nothingToRedeem: qtyUnits 0 is held in belowAlpacaPrecision', () => {
      assert.equal(drive([], { qtyUnits: '0', qty: '0' }).snapshot.value, 'belowAlpacaPrecision');
    });
    it('nothingToRedeem: qtyUnits 1 (one base unit above zero) goes on to callingAlpaca', () => {
      assert.equal(drive([], { qtyUnits: '1', qty: '0.000000001' }).snapshot.value, 'callingAlpaca');
    });
    it('assetHalted: a halted asset is held in assetHalted', () => {
      assert.equal(drive([], { assetHalted: true }).snapshot.value, 'assetHalted');
    });
    it('overDailyCap: held in dailyCapExceeded with the cap failure recorded', () => {
      const { snapshot, actions } = drive([], { overDailyCap: { cap: '100', redeemedToday: '99' } });
      assert.equal(snapshot.value, 'dailyCapExceeded');
      assert.deepEqual(snapshot.context.failure, {
        code: 'daily_redemption_cap_exceeded',
        message: '2 AAPL would exceed the daily redemption cap of 100 (99 redeemed today)',
      });
      assert.deepEqual(effectsOf(actions), []);
    });
    it('overDailyCap: undefined counts as under the cap', () => {
      assert.equal(drive([], { overDailyCap: undefined }).snapshot.value, 'callingAlpaca');
    });
    // Each row sets its own condition and every later one: the earliest guard wins.
    const ALL: Partial<RedemptionInput> = { earlierFlowState: 'completed', ...UNKNOWN, qtyUnits: '0', assetHalted: true, overDailyCap: { cap: '1', redeemedToday: '1' } };
    const PRIORITY: Array<[string, Partial<RedemptionInput>]> = [
      ['reappearedAfterReorg', ALL],
      ['unknownSender', { ...ALL, earlierFlowState: null }],
      ['belowAlpacaPrecision', { ...ALL, earlierFlowState: null, apId: 'ap-1' }],
      ['assetHalted', { ...ALL, earlierFlowState: null, apId: 'ap-1', qtyUnits: '5' }],
      ['dailyCapExceeded', { ...ALL, earlierFlowState: null, apId: 'ap-1', qtyUnits: '5', assetHalted: false }],
      ['callingAlpaca', { ...ALL, earlierFlowState: null, apId: 'ap-1', qtyUnits: '5', assetHalted: false, overDailyCap: null, clientRef: INPUT.clientRef }],
    ];
    for (const [to, input] of PRIORITY) {
      it(`priority: with every guard from ${to} on holding, the transfer goes to ${to}`, () => {
        assert.equal(drive([], input).snapshot.value, to);
      });
    }
  });

  describe('the redeem at Alpaca', () => {
    it('callingAlpaca asks for requestRedemption with issuer request id and Idempotency-Key of attempt 1', () => {
      const { snapshot, actions } = drive([]);
      assert.equal(snapshot.context.redeemAttempt, 1);
      assert.deepEqual(effectsOf(actions), [
        {
          type: 'requestRedemption',
          params: {
            issuerRequestId: `${ID_PREFIX}-1`,
            idempotencyKey: `${ID_PREFIX}-1`,
            underlying_symbol: 'AAPL',
            token_symbol: 'AAPLx',
            qty: '2',
            network: 'ethereum',
            wallet_address: '0xsender',
            tx_hash: TX,
            clientRef: { client_external_account_id: 'ext-1' },
          },
        },
      ]);
    });
    it('REDEEM_ACCEPTED records the request id, schedules the Alpaca deadline and polls', () => {
      const { snapshot, actions } = drive([ACCEPTED]);
      assert.deepEqual(snapshot.value, { awaitingAlpaca: 'checking' });
      assert.equal(snapshot.context.tokenizationRequestId, 'tr-9');
      assert.equal(snapshot.context.alpacaStatus, 'pending');
      assert.deepEqual(actions.find((a) => a.type === 'xstate.raise')?.params, { event: { type: 'ALPACA_DEADLINE_PASSED' }, id: 'alpacaDeadline', delay: 86_400_000 });
      assert.deepEqual(effectsOf(actions), [{ type: 'pollRedemption', params: { tokenizationRequestId: 'tr-9', issuerRequestId: `${ID_PREFIX}-1` } }]);
    });
    it('ALPACA_PENDING waits pollIntervalMs before POLL_DUE polls again', () => {
      const { snapshot, actions } = drive([ACCEPTED, { type: 'ALPACA_PENDING' }]);
      assert.deepEqual(actions.find((a) => a.type === 'xstate.raise')?.params, { event: { type: 'POLL_DUE' }, id: 'pollDue', delay: 30_000 });
      const [next, pollActions] = transition(redemptionMachine, snapshot, { type: 'POLL_DUE' });
      assert.deepEqual(next.value, { awaitingAlpaca: 'checking' });
      assert.deepEqual(effectsOf(pollActions).map((e) => e.type), ['pollRedemption']);
    });
    it('ALPACA_REJECTED records the rejection and goes to alpacaRejected', () => {
      const { snapshot } = drive([ACCEPTED, { type: 'ALPACA_REJECTED' }]);
      assert.equal(snapshot.value, 'alpacaRejected');
      assert.equal(snapshot.context.alpacaStatus, 'rejected');
      assert.deepEqual(snapshot.context.failure, { code: 'alpaca_rejected', message: 'Alpaca rejected the redemption' });
    });
    it('ALPACA_DEADLINE_PASSED records the deadline failure', () => {
      assert.deepEqual(reach('alpacaOverdue').snapshot.context.failure, { code: 'alpaca_deadline', message: 'Alpaca did not complete the redemption in time' });
    });
    it('ALPACA_COMPLETED burns burn #1 and nothing is burnt before it', () => {
      const { snapshot, actions } = drive([ACCEPTED, COMPLETED]);
      assert.equal(snapshot.context.alpacaStatus, 'completed');
      assert.deepEqual(effectsOf(actions), [
        { type: 'submitBurn', params: { intentId: `burn:${TX}:3#1`, network: 'ethereum', vaultAddress: '0xvault', amountUnits: '2000000000000000000', redemptionFlowTx: TX } },
      ]);
    });
    it('BURN_TX_SENT records the burn and its receipts and awaits confirmations of burn #1', () => {
      const { snapshot, actions } = drive([ACCEPTED, COMPLETED, SENT]);
      assert.equal(snapshot.context.burnTxHash, '0xburn');
      assert.deepEqual(snapshot.context.receiptsUsed, [{ receiptId: 'r-1', amountUnits: '2000000000000000000' }]);
      assert.deepEqual(effectsOf(actions), [{ type: 'awaitBurnConfirmations', params: { intentId: `burn:${TX}:3#1`, network: 'ethereum', txHash: '0xburn' } }]);
    });
  });

  describe('operator retries', () => {
    it('OPERATOR_RETRY from alpacaRejected clears the failure and bumps redeemAttempt: a new issuer request id (-2)', () => {
      const rejected = reach('alpacaRejected').snapshot;
      assert.deepEqual(rejected.context.failure, { code: 'alpaca_422', message: 'bad' });
      const [next, actions] = transition(redemptionMachine, rejected, retry);
      assert.equal(next.value, 'callingAlpaca');
      assert.equal(next.context.failure, undefined);
      assert.equal(next.context.redeemAttempt, 2);
      const [request] = effectsOf(actions);
      assert.equal(request?.params.issuerRequestId, `${ID_PREFIX}-2`);
      assert.equal(request?.params.idempotencyKey, `${ID_PREFIX}-2`);
    });
    it('OPERATOR_RETRY from redeemAttemptsExhausted clears the failure and reuses the same issuer request id (-1)', () => {
      const exhausted = reach('redeemAttemptsExhausted').snapshot;
      assert.deepEqual(exhausted.context.failure, { code: 'alpaca_timeout', message: 'timed out' });
      const [next, actions] = transition(redemptionMachine, exhausted, retry);
      assert.equal(next.context.failure, undefined);
      assert.equal(next.context.redeemAttempt, 1);
      assert.equal(effectsOf(actions)[0]?.params.issuerRequestId, `${ID_PREFIX}-1`);
    });
    it('OPERATOR_RETRY from dailyCapExceeded clears the cap failure and calls Alpaca', () => {
      const [next] = transition(redemptionMachine, reach('dailyCapExceeded').snapshot, retry);
      assert.equal(next.value, 'callingAlpaca');
      assert.equal(next.context.failure, undefined);
    });
    it('OPERATOR_RETRY from alpacaOverdue clears the failure, restarts the deadline and polls the same request', () => {
      const [next, actions] = transition(redemptionMachine, reach('alpacaOverdue').snapshot, retry);
      assert.deepEqual(next.value, { awaitingAlpaca: 'checking' });
      assert.equal(next.context.failure, undefined);
      assert.ok(actions.some((a) => a.type === 'xstate.raise' && (a.params as { delay?: number }).delay === 86_400_000));
      assert.deepEqual(effectsOf(actions), [{ type: 'pollRedemption', params: { tokenizationRequestId: 'tr-9', issuerRequestId: `${ID_PREFIX}-1` } }]);
    });
    it('OPERATOR_RETRY from burnReverted clears the failure and bumps burnAttempt: a new burn #2', () => {
      const reverted = reach('burnReverted').snapshot;
      assert.deepEqual(reverted.context.failure, { code: 'reverted', message: 'paused' });
      const [next, actions] = transition(redemptionMachine, reverted, retry);
      assert.deepEqual(next.value, { burning: 'submitting' });
      assert.equal(next.context.failure, undefined);
      assert.equal(next.context.burnAttempt, 2);
      assert.equal(effectsOf(actions)[0]?.params.intentId, `burn:${TX}:3#2`);
    });
    for (const from of ['burnStalled', 'insufficientInventory']) {
      it(`OPERATOR_RETRY from ${from} clears the failure and resumes the same burn #1`, () => {
        const held = reach(from).snapshot;
        assert.ok(held.context.failure);
        const [next, actions] = transition(redemptionMachine, held, retry);
        assert.equal(next.context.failure, undefined);
        assert.equal(next.context.burnAttempt, 1);
        assert.equal(effectsOf(actions)[0]?.params.intentId, `burn:${TX}:3#1`);
      });
    }
    it('OPERATOR_RETRY from returnFailed clears the failure and returns the tokens again', () => {
      const failed = reach('returnFailed').snapshot;
      assert.deepEqual(failed.context.failure, { code: 'no_gas', message: 'no gas' });
      const [next, actions] = transition(redemptionMachine, failed, retry);
      assert.equal(next.value, 'returningTokens');
      assert.equal(next.context.failure, undefined);
      assert.deepEqual(effectsOf(actions), [
        { type: 'returnTokensToSender', params: { intentId: `return:${TX}:3`, network: 'ethereum', vaultAddress: '0xvault', recipient: '0xsender', amountUnits: '2000000000000000000' } },
      ]);
    });
  });

  describe('every operator transition', () => {
    it('the table lists every (state, OPERATOR_* event) pair the machine declares', () => {
      const declared = allNodes(redemptionMachine.root).flatMap((node) => Object.keys(node.on).filter((e) => e.startsWith('OPERATOR_')).map((e) => `${pathOf(node)} ${e}`));
      assert.deepEqual(OPERATOR_TRANSITIONS.map((t) => `${t.from} ${t.event.type}`).sort(), declared.sort());
    });
    for (const { from, event, to, effect } of OPERATOR_TRANSITIONS) {
      it(`${event.type} from ${from} goes to ${to}${effect ? ` and asks for ${effect}` : ' with no effect'}`, () => {
        const { snapshot } = reach(from);
        assert.equal(snapshot.can(event), true);
        const [next, actions] = transition(redemptionMachine, snapshot, event);
        assert.equal(stateKey(next.value), to);
        assert.deepEqual(effectsOf(actions).map((e) => e.type), effect ? [effect] : []);
      });
    }
    it('every other operator event is refused in every state (can is false)', () => {
      for (const state of Object.keys(PATHS)) {
        const snapshot: Snapshot = reach(state).snapshot;
        for (const event of OPERATOR_EVENTS) {
          const listed = OPERATOR_TRANSITIONS.some((t) => t.from === state && t.event.type === event.type);
          assert.equal(snapshot.can(event), listed, `${state} ${event.type}`);
        }
      }
    });
  });
});
