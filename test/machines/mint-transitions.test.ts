import assert from 'node:assert/strict';
import { type AnyStateNode, initialTransition, transition } from 'xstate';
import { type MintEvent, type MintInput, MINT_EFFECTS, mintMachine } from '../../machines/mint';
import { effectNames } from '../../machines/effects';

/** Transitions of the mint machine driven through xstate's pure transition functions: no service, no clock. */

const INPUT: MintInput = {
  tokenizationRequestId: 'tr-1',
  issuerRequestId: 'ir-1',
  requestHash: 'hash',
  apId: 'ap-1',
  clientRef: { client_account_id: 'client-1' },
  assetId: 'asset-1',
  underlyingSymbol: 'AAPL',
  tokenSymbol: 'AAPLx',
  network: 'ethereum',
  vaultAddress: '0xvault',
  decimals: 18,
  walletAddress: '0xwallet',
  qty: '10',
  amountUnits: '10000000000000000000',
  journalTimeoutMs: 3_600_000,
};

type Snapshot = ReturnType<typeof initialTransition<typeof mintMachine>>[0];
type Actions = ReturnType<typeof initialTransition<typeof mintMachine>>[1];

const EFFECTS: string[] = effectNames(MINT_EFFECTS);

/** `{ a: 'b' }` → `'a.b'`: the state as a dotted path. */
function stateKey(value: unknown): string {
  if (typeof value === 'string') return value;
  const [[parent, child]] = Object.entries(value as Record<string, unknown>) as [[string, unknown]];
  return `${parent}.${stateKey(child)}`;
}

/** Drives the machine from its initial state; returns the last snapshot and the actions of the last step. */
function drive(events: MintEvent[], input: Partial<MintInput> = {}): { snapshot: Snapshot; actions: Actions } {
  let [snapshot, actions] = initialTransition(mintMachine, { ...INPUT, ...input });
  for (const event of events) {
    assert.ok(snapshot.can(event), `${stateKey(snapshot.value)} takes ${event.type}`);
    [snapshot, actions] = transition(mintMachine, snapshot, event);
  }
  return { snapshot, actions };
}

const effectsOf = (actions: Actions) => actions.filter((a) => EFFECTS.includes(a.type)).map((a) => ({ type: a.type, params: a.params as Record<string, unknown> }));

const CONFIRMED: MintEvent = { type: 'JOURNAL_CONFIRMED' };
const ABOVE: MintEvent = { type: 'JOURNAL_CONFIRMED', approvalThreshold: '5' };
const TIMED_OUT: MintEvent = { type: 'JOURNAL_CONFIRMATION_TIMED_OUT' };
const SENT: MintEvent = { type: 'MINT_TX_SENT', txHash: '0xtx', nonce: 7 };
const SUBMIT_FAILED: MintEvent = { type: 'MINT_SUBMISSION_FAILED', code: 'node_unreachable', message: 'no node' };
const REVERTED: MintEvent = { type: 'MINT_REVERTED', txHash: '0xtx', code: 'reverted', message: 'missing role' };
const MINED: MintEvent = { type: 'MINT_CONFIRMED', txHash: '0xtx', receiptId: 'r-1', blockNumber: 100 };
const CALLBACK_FAILED: MintEvent = { type: 'CALLBACK_FAILED', code: 'alpaca_503', message: 'unavailable' };
const approve = (operator?: string): MintEvent => ({ type: 'OPERATOR_APPROVE', operator });

/** How to reach every resting state from the initial one. */
const PATHS: Record<string, MintEvent[]> = {
  awaitingJournal: [],
  journalOverdue: [TIMED_OUT],
  journalRejected: [{ type: 'JOURNAL_REJECTED' }],
  closedByOperator: [TIMED_OUT, { type: 'OPERATOR_CLOSE', operator: 'alice' }],
  'awaitingApproval.pending': [ABOVE],
  'awaitingApproval.endorsed': [ABOVE, approve('alice')],
  rejectedByOperator: [ABOVE, { type: 'OPERATOR_REJECT', operator: 'alice' }],
  'minting.submitting': [CONFIRMED],
  'minting.confirming': [CONFIRMED, SENT],
  mintSubmissionFailed: [CONFIRMED, SUBMIT_FAILED],
  mintReverted: [CONFIRMED, SENT, REVERTED],
  callingBack: [CONFIRMED, SENT, MINED],
  callbackFailed: [CONFIRMED, SENT, MINED, CALLBACK_FAILED],
  completed: [CONFIRMED, SENT, MINED, { type: 'CALLBACK_ACKNOWLEDGED' }],
};

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(allNodes)];
}
const pathOf = (node: AnyStateNode) => node.path.join('.');

/** Every operator transition: the node that declares it, the resting state it is sent from, and where it leads. */
const OPERATOR_TRANSITIONS: Array<{ node: string; from?: string; event: MintEvent; to: string; effect?: string }> = [
  { node: 'journalOverdue', event: { type: 'OPERATOR_CLOSE', operator: 'alice' }, to: 'closedByOperator' },
  { node: 'awaitingApproval', from: 'awaitingApproval.pending', event: { type: 'OPERATOR_REJECT', operator: 'alice' }, to: 'rejectedByOperator' },
  { node: 'awaitingApproval.pending', event: approve('alice'), to: 'awaitingApproval.endorsed' },
  { node: 'awaitingApproval.endorsed', event: approve('bob'), to: 'minting.submitting', effect: 'submitMintTransaction' },
  { node: 'mintSubmissionFailed', event: { type: 'OPERATOR_RETRY_MINT', operator: 'alice' }, to: 'minting.submitting', effect: 'submitMintTransaction' },
  { node: 'mintReverted', event: { type: 'OPERATOR_RETRY_MINT', operator: 'alice' }, to: 'minting.submitting', effect: 'submitMintTransaction' },
  { node: 'callbackFailed', event: { type: 'OPERATOR_RETRY_CALLBACK', operator: 'alice' }, to: 'callingBack', effect: 'notifyAlpacaOfMint' },
];

describe('mint machine transitions', () => {
  describe('state reachability', () => {
    it('the driving paths cover every leaf state of the machine', () => {
      const leaves = allNodes(mintMachine.root).filter((n) => Object.keys(n.states).length === 0).map(pathOf);
      assert.deepEqual(Object.keys(PATHS).sort(), leaves.sort());
    });
    for (const [state, events] of Object.entries(PATHS)) {
      it(`driving ${events.map((e) => e.type).join(' → ') || 'nothing'} rests in ${state}`, () => {
        assert.equal(stateKey(drive(events).snapshot.value), state);
      });
    }
  });

  describe('start', () => {
    it('starts in awaitingJournal with mintAttempt 1 and schedules the journal timeout after journalTimeoutMs', () => {
      const { snapshot, actions } = drive([]);
      assert.equal(snapshot.value, 'awaitingJournal');
      assert.equal(snapshot.context.mintAttempt, 1);
      const raise = actions.find((a) => a.type === 'xstate.raise');
      assert.deepEqual(raise?.params, { event: { type: 'JOURNAL_CONFIRMATION_TIMED_OUT' }, id: 'journalTimeout', delay: 3_600_000 });
    });
    it('JOURNAL_CONFIRMATION_TIMED_OUT moves awaitingJournal to journalOverdue', () => {
      assert.equal(drive([TIMED_OUT]).snapshot.value, 'journalOverdue');
    });
    it('JOURNAL_REJECTED records the rejected journal and ends in journalRejected', () => {
      const { snapshot } = drive([{ type: 'JOURNAL_REJECTED' }]);
      assert.equal(snapshot.value, 'journalRejected');
      assert.equal(snapshot.context.journalStatus, 'rejected');
      assert.equal(snapshot.status, 'done');
    });
  });

  describe('guard aboveApprovalThreshold', () => {
    const cases: Array<{ qty: string; threshold?: string; to: string }> = [
      { qty: '10', threshold: '9.999999999', to: 'awaitingApproval.pending' },
      { qty: '10.000000001', threshold: '10', to: 'awaitingApproval.pending' },
      { qty: '10', threshold: '10', to: 'minting.submitting' },
      { qty: '10', threshold: '11', to: 'minting.submitting' },
      { qty: '10', threshold: undefined, to: 'minting.submitting' },
    ];
    for (const from of ['awaitingJournal', 'journalOverdue'] as const) {
      for (const { qty, threshold, to } of cases) {
        it(`from ${from}: qty ${qty} with threshold ${threshold ?? 'absent'} goes to ${to}`, () => {
          const { snapshot } = drive([...PATHS[from]!, { type: 'JOURNAL_CONFIRMED', approvalThreshold: threshold }], { qty });
          assert.equal(stateKey(snapshot.value), to);
          assert.equal(snapshot.context.journalStatus, 'completed');
          assert.equal(snapshot.context.approvalThreshold, to.startsWith('awaitingApproval') ? threshold : undefined);
        });
      }
    }
    it('below the threshold: cancels the journal timeout and asks for the mint transaction #1 with its params', () => {
      const { actions } = drive([{ type: 'JOURNAL_CONFIRMED', approvalThreshold: '11' }]);
      assert.ok(actions.some((a) => (a.type as string) === 'xstate.cancel' && (a.params as { sendId: string }).sendId === 'journalTimeout'));
      assert.deepEqual(effectsOf(actions), [
        {
          type: 'submitMintTransaction',
          params: { intentId: 'mint:tr-1#1', network: 'ethereum', vaultAddress: '0xvault', recipient: '0xwallet', amountUnits: '10000000000000000000', tokenizationRequestId: 'tr-1' },
        },
      ]);
    });
    it('above the threshold: asks for no effect (nothing is signed before approval)', () => {
      assert.deepEqual(effectsOf(drive([ABOVE]).actions), []);
    });
  });

  describe('approval (guard anotherOperator)', () => {
    it('OPERATOR_APPROVE in pending records approvedBy and moves to endorsed, no effect', () => {
      const { snapshot, actions } = drive([ABOVE, approve('alice')]);
      assert.deepEqual(snapshot.value, { awaitingApproval: 'endorsed' });
      assert.equal(snapshot.context.approvedBy, 'alice');
      assert.deepEqual(effectsOf(actions), []);
    });
    it('a second OPERATOR_APPROVE by a different operator goes to minting with countersignedBy and submits mint #1', () => {
      const { snapshot, actions } = drive([ABOVE, approve('alice'), approve('bob')]);
      assert.deepEqual(snapshot.value, { minting: 'submitting' });
      assert.equal(snapshot.context.approvedBy, 'alice');
      assert.equal(snapshot.context.countersignedBy, 'bob');
      assert.deepEqual(effectsOf(actions).map((e) => [e.type, e.params.intentId]), [['submitMintTransaction', 'mint:tr-1#1']]);
    });
    it('a second OPERATOR_APPROVE by the same operator is refused (can is false; state and context unchanged)', () => {
      const { snapshot } = drive([ABOVE, approve('alice')]);
      assert.equal(snapshot.can(approve('alice')), false);
      const [next, actions] = transition(mintMachine, snapshot, approve('alice'));
      assert.deepEqual(next.value, { awaitingApproval: 'endorsed' });
      assert.equal(next.context.countersignedBy, undefined);
      assert.deepEqual(effectsOf(actions), []);
    });
    it('two approvals with no operator named are the same operator: the second is refused', () => {
      const { snapshot } = drive([ABOVE, approve(undefined)]);
      assert.equal(snapshot.can(approve(undefined)), false);
    });
    for (const from of ['awaitingApproval.pending', 'awaitingApproval.endorsed']) {
      it(`OPERATOR_REJECT from ${from} ends in rejectedByOperator with rejectedBy and rejectionNote`, () => {
        const { snapshot, actions } = drive([...PATHS[from]!, { type: 'OPERATOR_REJECT', operator: 'carol', note: 'wrong wallet' }]);
        assert.equal(snapshot.value, 'rejectedByOperator');
        assert.equal(snapshot.status, 'done');
        assert.equal(snapshot.context.rejectedBy, 'carol');
        assert.equal(snapshot.context.rejectionNote, 'wrong wallet');
        assert.deepEqual(effectsOf(actions), []);
      });
    }
  });

  describe('minting and the callback', () => {
    it('MINT_TX_SENT records txHash and nonce and asks to await confirmations of mint #1', () => {
      const { snapshot, actions } = drive([CONFIRMED, SENT]);
      assert.equal(snapshot.context.txHash, '0xtx');
      assert.equal(snapshot.context.nonce, 7);
      assert.deepEqual(effectsOf(actions), [{ type: 'awaitMintConfirmations', params: { intentId: 'mint:tr-1#1', network: 'ethereum', vaultAddress: '0xvault', txHash: '0xtx' } }]);
    });
    it('MINT_CONFIRMED records the receipt and asks to notify Alpaca with the client ref', () => {
      const { snapshot, actions } = drive([CONFIRMED, SENT, MINED]);
      assert.equal(snapshot.value, 'callingBack');
      assert.equal(snapshot.context.receiptId, 'r-1');
      assert.equal(snapshot.context.blockNumber, 100);
      assert.deepEqual(effectsOf(actions), [
        { type: 'notifyAlpacaOfMint', params: { tokenization_request_id: 'tr-1', tx_hash: '0xtx', wallet_address: '0xwallet', network: 'ethereum', client_account_id: 'client-1' } },
      ]);
    });
    it('MINT_SUBMISSION_FAILED while confirming also goes to mintSubmissionFailed', () => {
      assert.equal(drive([CONFIRMED, SENT, SUBMIT_FAILED]).snapshot.value, 'mintSubmissionFailed');
    });
    it('MINT_REVERTED while submitting also goes to mintReverted', () => {
      assert.equal(drive([CONFIRMED, REVERTED]).snapshot.value, 'mintReverted');
    });
  });

  describe('operator retries', () => {
    it('OPERATOR_RETRY_MINT from mintSubmissionFailed clears the failure and resubmits the same transaction (#1)', () => {
      const failed = drive([CONFIRMED, SUBMIT_FAILED]).snapshot;
      assert.deepEqual(failed.context.failure, { code: 'node_unreachable', message: 'no node' });
      const [next, actions] = transition(mintMachine, failed, { type: 'OPERATOR_RETRY_MINT' });
      assert.deepEqual(next.value, { minting: 'submitting' });
      assert.equal(next.context.failure, undefined);
      assert.equal(next.context.mintAttempt, 1);
      assert.deepEqual(effectsOf(actions).map((e) => [e.type, e.params.intentId]), [['submitMintTransaction', 'mint:tr-1#1']]);
    });
    it('OPERATOR_RETRY_MINT from mintReverted clears the failure and bumps mintAttempt: a new transaction #2, awaited as #2', () => {
      const reverted = drive([CONFIRMED, SENT, REVERTED]).snapshot;
      assert.deepEqual(reverted.context.failure, { code: 'reverted', message: 'missing role' });
      const [next, actions] = transition(mintMachine, reverted, { type: 'OPERATOR_RETRY_MINT' });
      assert.deepEqual(next.value, { minting: 'submitting' });
      assert.equal(next.context.failure, undefined);
      assert.equal(next.context.mintAttempt, 2);
      assert.deepEqual(effectsOf(actions).map((e) => [e.type, e.params.intentId]), [['submitMintTransaction', 'mint:tr-1#2']]);
      const [confirming, confirmActions] = transition(mintMachine, next, { type: 'MINT_TX_SENT', txHash: '0xtx2', nonce: 8 });
      assert.deepEqual(effectsOf(confirmActions), [{ type: 'awaitMintConfirmations', params: { intentId: 'mint:tr-1#2', network: 'ethereum', vaultAddress: '0xvault', txHash: '0xtx2' } }]);
      assert.equal(confirming.context.txHash, '0xtx2');
    });
    it('OPERATOR_RETRY_CALLBACK from callbackFailed clears the failure and notifies Alpaca again', () => {
      const failed = drive([CONFIRMED, SENT, MINED, CALLBACK_FAILED]).snapshot;
      assert.deepEqual(failed.context.failure, { code: 'alpaca_503', message: 'unavailable' });
      const [next, actions] = transition(mintMachine, failed, { type: 'OPERATOR_RETRY_CALLBACK' });
      assert.equal(next.value, 'callingBack');
      assert.equal(next.context.failure, undefined);
      assert.deepEqual(effectsOf(actions).map((e) => e.type), ['notifyAlpacaOfMint']);
      assert.equal(transition(mintMachine, next, { type: 'CALLBACK_ACKNOWLEDGED' })[0].value, 'completed');
    });
    it('OPERATOR_CLOSE from journalOverdue ends in closedByOperator with no effect', () => {
      const { snapshot, actions } = drive([TIMED_OUT, { type: 'OPERATOR_CLOSE' }]);
      assert.equal(snapshot.value, 'closedByOperator');
      assert.equal(snapshot.status, 'done');
      assert.deepEqual(effectsOf(actions), []);
    });
  });

  describe('every operator transition', () => {
    it('the table lists every (state, OPERATOR_* event) pair the machine declares', () => {
      const declared = allNodes(mintMachine.root).flatMap((node) => Object.keys(node.on).filter((e) => e.startsWith('OPERATOR_')).map((e) => `${pathOf(node)} ${e}`));
      assert.deepEqual(OPERATOR_TRANSITIONS.map((t) => `${t.node} ${t.event.type}`).sort(), declared.sort());
    });
    for (const { node, from = node, event, to, effect } of OPERATOR_TRANSITIONS) {
      it(`${event.type} from ${from} goes to ${to}${effect ? ` and asks for ${effect}` : ' with no effect'}`, () => {
        const { snapshot } = drive(PATHS[from]!);
        assert.equal(snapshot.can(event), true);
        const [next, actions] = transition(mintMachine, snapshot, event);
        assert.equal(stateKey(next.value), to);
        assert.deepEqual(effectsOf(actions).map((e) => e.type), effect ? [effect] : []);
      });
    }
    const OPERATOR_EVENTS: MintEvent[] = [
      { type: 'OPERATOR_RETRY_MINT', operator: 'zed' },
      { type: 'OPERATOR_RETRY_CALLBACK', operator: 'zed' },
      { type: 'OPERATOR_CLOSE', operator: 'zed' },
      { type: 'OPERATOR_APPROVE', operator: 'zed' },
      { type: 'OPERATOR_REJECT', operator: 'zed' },
    ];
    it('every other operator event is refused in every state (can is false)', () => {
      for (const [state, events] of Object.entries(PATHS)) {
        const snapshot = drive(events).snapshot;
        for (const event of OPERATOR_EVENTS) {
          const listed = OPERATOR_TRANSITIONS.some((t) => (t.from ?? t.node) === state && t.event.type === event.type) || (state === 'awaitingApproval.endorsed' && event.type === 'OPERATOR_REJECT');
          assert.equal(snapshot.can(event), listed, `${state} ${event.type}`);
        }
      }
    });
  });
});
