import assert from 'node:assert/strict';
import { type AnyStateMachine, type AnyStateNode, initialTransition, transition } from 'xstate';
import { mintMachine, type MintInput } from '../../machines/mint';
import { redemptionMachine } from '../../machines/redemption';
import { type Tag, TAGS } from '../../machines/tags';

/** The tags each state carries (its own and its ancestors'), the way `snapshot.hasTag` reads them. */
function tagsByState(machine: AnyStateMachine): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const visit = (node: AnyStateNode, inherited: string[]) => {
    const tags = [...inherited, ...node.tags];
    const children = Object.values(node.states);
    if (children.length === 0) out[node.path.join('.')] = [...new Set(tags)].sort();
    for (const child of children) visit(child, tags);
  };
  visit(machine.root, []);
  return out;
}

/** Which machine each tag belongs to, as its doc in machines/tags.ts says. */
const TAG_MACHINES: Record<Tag, Array<'mint' | 'redemption'>> = {
  needsOperator: ['mint', 'redemption'],
  approvalPending: ['mint'],
  secondApprovalPending: ['mint'],
  journalUnconfirmed: ['mint'],
  journaledNotMinted: ['mint'],
  mintAbandoned: ['mint'],
  redeemAtAlpaca: ['redemption'],
  awaitingBurn: ['redemption'],
  redeemNotRequested: ['redemption'],
  redeemClosed: ['redemption'],
  burnRecorded: ['redemption'],
};

/** Every mint state and exactly the tags it must carry. */
const MINT_TAGS: Record<string, Tag[]> = {
  awaitingJournal: ['journalUnconfirmed'],
  journalOverdue: ['needsOperator', 'journalUnconfirmed'],
  journalRejected: ['mintAbandoned'],
  closedByOperator: ['mintAbandoned'],
  'awaitingApproval.pending': ['needsOperator', 'approvalPending', 'journaledNotMinted'],
  'awaitingApproval.endorsed': ['needsOperator', 'approvalPending', 'journaledNotMinted', 'secondApprovalPending'],
  rejectedByOperator: ['mintAbandoned'],
  'minting.submitting': ['journaledNotMinted'],
  'minting.confirming': ['journaledNotMinted'],
  mintSubmissionFailed: ['needsOperator', 'journaledNotMinted'],
  mintReverted: ['needsOperator', 'journaledNotMinted'],
  callingBack: [],
  callbackFailed: ['needsOperator'],
  completed: [],
};

/** The redemption's progress tags: each state but the two named below carries exactly one. */
const PROGRESS: Tag[] = ['redeemAtAlpaca', 'awaitingBurn', 'redeemNotRequested', 'redeemClosed', 'burnRecorded'];

/** Every redemption state and exactly the tags it must carry. */
const REDEMPTION_TAGS: Record<string, Tag[]> = {
  detected: [], // transient: never stored
  reappearedAfterReorg: ['needsOperator', 'redeemNotRequested'],
  unknownSender: ['needsOperator', 'redeemNotRequested'],
  belowAlpacaPrecision: ['needsOperator', 'redeemNotRequested'],
  assetHalted: ['needsOperator', 'redeemNotRequested'],
  dailyCapExceeded: ['needsOperator', 'redeemNotRequested'],
  callingAlpaca: ['redeemAtAlpaca'],
  redeemAttemptsExhausted: ['needsOperator', 'redeemAtAlpaca'],
  'awaitingAlpaca.checking': ['redeemAtAlpaca'],
  'awaitingAlpaca.waiting': ['redeemAtAlpaca'],
  alpacaOverdue: ['needsOperator', 'redeemAtAlpaca'],
  alpacaRejected: ['needsOperator', 'redeemNotRequested'],
  'burning.submitting': ['awaitingBurn'],
  'burning.confirming': ['awaitingBurn'],
  insufficientInventory: ['needsOperator', 'awaitingBurn'],
  burnReverted: ['needsOperator', 'awaitingBurn'],
  burnStalled: ['needsOperator', 'awaitingBurn'],
  returningTokens: ['redeemNotRequested'],
  returnFailed: ['needsOperator', 'redeemNotRequested'],
  transferOrphaned: ['needsOperator'], // acted on, then reorganised away: reconciled by hand, in no progress bucket
  withdrawnByReorg: ['redeemNotRequested'],
  returnedToSender: ['redeemNotRequested'],
  closedByOperator: ['redeemClosed'],
  completed: ['burnRecorded'],
};

const statesWith = (table: Record<string, string[]>, tag: string) => Object.keys(table).filter((s) => table[s]!.includes(tag)).sort();

describe('machine tags', () => {
  const mint = tagsByState(mintMachine);
  const redemption = tagsByState(redemptionMachine);

  it('the tag-to-machine table names every tag in TAGS, each tag equal to its key', () => {
    assert.deepEqual(Object.keys(TAG_MACHINES).sort(), Object.keys(TAGS).sort());
    for (const [key, value] of Object.entries(TAGS)) assert.equal(value, key);
  });
  for (const tag of Object.values(TAGS)) {
    it(`${tag} is set on at least one state of ${TAG_MACHINES[tag].join(' and ')}, and on no state of any other machine`, () => {
      for (const [name, table] of [['mint', mint], ['redemption', redemption]] as const) {
        assert.equal(statesWith(table, tag).length > 0, TAG_MACHINES[tag].includes(name), `${tag} on ${name}`);
      }
    });
  }
  it('the machines use no tag outside TAGS', () => {
    const used = new Set([...Object.values(mint), ...Object.values(redemption)].flat());
    assert.deepEqual([...used].filter((t) => !(t in TAGS)), []);
  });

  describe('mint', () => {
    it('every state carries exactly the tags of the table', () => {
      assert.deepEqual(mint, Object.fromEntries(Object.entries(MINT_TAGS).map(([s, t]) => [s, [...t].sort()])));
    });
    it('journalUnconfirmed is on awaitingJournal and journalOverdue only', () => {
      assert.deepEqual(statesWith(mint, TAGS.journalUnconfirmed), ['awaitingJournal', 'journalOverdue']);
    });
    it('journaledNotMinted is on the approval, minting and failed-mint states only', () => {
      assert.deepEqual(statesWith(mint, TAGS.journaledNotMinted), ['awaitingApproval.endorsed', 'awaitingApproval.pending', 'mintReverted', 'mintSubmissionFailed', 'minting.confirming', 'minting.submitting']);
    });
    it('mintAbandoned is on journalRejected, rejectedByOperator and closedByOperator only', () => {
      assert.deepEqual(statesWith(mint, TAGS.mintAbandoned), ['closedByOperator', 'journalRejected', 'rejectedByOperator']);
    });
    it('secondApprovalPending is on the endorsed substate only', () => {
      assert.deepEqual(statesWith(mint, TAGS.secondApprovalPending), ['awaitingApproval.endorsed']);
    });
    it('needsOperator is on the states that wait for a person only', () => {
      assert.deepEqual(statesWith(mint, TAGS.needsOperator), ['awaitingApproval.endorsed', 'awaitingApproval.pending', 'callbackFailed', 'journalOverdue', 'mintReverted', 'mintSubmissionFailed']);
    });
    it('a driven snapshot reads the tags through hasTag, the parent state’s included', () => {
      const input: MintInput = {
        tokenizationRequestId: 'tr-1', issuerRequestId: 'ir-1', requestHash: 'h', apId: 'ap', clientRef: { client_account_id: 'c' }, assetId: 'a',
        underlyingSymbol: 'AAPL', tokenSymbol: 'AAPLx', network: 'ethereum', vaultAddress: '0xv', decimals: 18, walletAddress: '0xw', qty: '10', amountUnits: '10', journalTimeoutMs: 1000,
      };
      let [snapshot] = initialTransition(mintMachine, input);
      assert.ok(snapshot.hasTag(TAGS.journalUnconfirmed));
      [snapshot] = transition(mintMachine, snapshot, { type: 'JOURNAL_CONFIRMED', approvalThreshold: '1' });
      [snapshot] = transition(mintMachine, snapshot, { type: 'OPERATOR_APPROVE', operator: 'alice' });
      for (const tag of MINT_TAGS['awaitingApproval.endorsed']!) assert.ok(snapshot.hasTag(tag), tag);
      assert.ok(!snapshot.hasTag(TAGS.journalUnconfirmed));
    });
  });

  describe('redemption', () => {
    it('every state carries exactly the tags of the table', () => {
      assert.deepEqual(redemption, Object.fromEntries(Object.entries(REDEMPTION_TAGS).map(([s, t]) => [s, [...t].sort()])));
    });
    it('every state but detected (transient) and transferOrphaned carries exactly one progress tag', () => {
      for (const [state, tags] of Object.entries(redemption)) {
        const progress = tags.filter((t) => (PROGRESS as string[]).includes(t));
        assert.equal(progress.length, state === 'detected' || state === 'transferOrphaned' ? 0 : 1, `${state}: ${progress.join(', ')}`);
      }
    });
    it('burnRecorded is on completed only and redeemClosed on closedByOperator only', () => {
      assert.deepEqual(statesWith(redemption, TAGS.burnRecorded), ['completed']);
      assert.deepEqual(statesWith(redemption, TAGS.redeemClosed), ['closedByOperator']);
    });
    it('awaitingBurn is on burning and the burn failures only: nothing before Alpaca completed', () => {
      assert.deepEqual(statesWith(redemption, TAGS.awaitingBurn), ['burnReverted', 'burnStalled', 'burning.confirming', 'burning.submitting', 'insufficientInventory']);
    });
  });
});
