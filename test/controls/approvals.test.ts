import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readJson } from '../../persistence/database';
import { depositsByRequest } from '../support/chain-evidence';
import { count } from '../support/fixtures';
import { type MintEnv, startMintEnv, waitForState } from '../support/mint-env';
import { asOperator, newOperators } from './helpers';

/** Four eyes on large mints, end to end: devnet, vault, fake Alpaca over HTTP, two named operators. */
describe('risk controls: approval threshold (four eyes)', function () {
  this.timeout(60_000);
  const ops = newOperators();
  let env: MintEnv;

  before(async () => {
    env = await startMintEnv({}, { config: { operators: new Map(Object.entries(ops)) } });
    const set = await asOperator(env.svc.url, ops.alice, 'PATCH', `/operator/controls/assets/${env.assetId}`, { approval_threshold: '10' });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });
  after(() => env?.close());

  const as = (who: 'alice' | 'bob') => (method: string, path: string, body?: unknown) => asOperator(env.svc.url, ops[who], method, path, body);
  const decide = (who: 'alice' | 'bob', flowId: string, type: string) => as(who)('POST', `/operator/flows/${encodeURIComponent(flowId)}/events`, { type, note: `${who} decides` });
  const deposits = async (trid: string) => (await depositsByRequest(env.provider, env.chain.vault.vault)).get(trid) ?? 0;
  const signed = (flowId: string) => count(env.svc.db, 'chain_transactions', { flow_id: flowId });
  const operatorsOf = async (flowId: string, type: string) =>
    (await env.svc.db('journal').where({ flow_id: flowId, type }).orderBy('seq')).map((r: any) => readJson<{ operator?: string }>(r.payload).operator);

  /** Alpaca requests and confirms a mint of `qty`; answers its flow id once the confirm is recorded. */
  async function confirmedMint(qty: string): Promise<{ trid: string; flowId: string }> {
    const trid = crypto.randomUUID();
    const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty, underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal((await env.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed')).status, 200);
    return { trid, flowId: `mint:${trid}` };
  }

  it('mints at or below the threshold without asking anyone', async () => {
    const { trid, flowId } = await confirmedMint('10');
    await waitForState(env.svc, flowId, ['completed']);
    assert.equal(await deposits(trid), 1);
    assert.deepEqual(await operatorsOf(flowId, 'OPERATOR_APPROVE'), []);
  });

  it('holds a mint above the threshold, unsigned, until a second, different operator approves; then mints once', async () => {
    const { trid, flowId } = await confirmedMint('10.5');
    await waitForState(env.svc, flowId, ['awaitingApproval.pending']);
    const detail = await as('bob')('GET', `/operator/flows/${encodeURIComponent(flowId)}`);
    assert.deepEqual([detail.body.flow.needsOperator, detail.body.operator_events.sort()], [true, ['OPERATOR_APPROVE', 'OPERATOR_REJECT']]);
    assert.equal(detail.body.flow.snapshot.context.approvalThreshold, '10');
    const listed = await as('bob')('GET', '/operator/flows?needs_operator=true&state=awaitingApproval');
    assert.deepEqual(listed.body.flows.map((f: any) => f.flow_id), [flowId]);

    const first = await decide('alice', flowId, 'OPERATOR_APPROVE');
    assert.deepEqual([first.status, first.body.flow.state, first.body.flow.snapshot.context.approvedBy], [200, 'awaitingApproval.endorsed', 'alice']);

    // The same person cannot supply the second pair of eyes: refused with its own code, nothing written.
    const journalBefore = await count(env.svc.db, 'journal', { flow_id: flowId });
    const again = await decide('alice', flowId, 'OPERATOR_APPROVE');
    assert.equal(again.status, 409);
    assert.deepEqual(again.body, {
      code: 'same_operator_cannot_approve',
      message: 'alice already approved this mint; a different operator must give the second approval',
      state: 'awaitingApproval.endorsed',
      event: 'OPERATOR_APPROVE',
      approved_by: 'alice',
    });
    assert.equal(await count(env.svc.db, 'journal', { flow_id: flowId }), journalBefore);
    assert.equal((await env.svc.host.require(flowId)).state, 'awaitingApproval.endorsed');

    // Nothing is signed while the mint waits, however long the runner works.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual([await signed(flowId), await deposits(trid)], [0, 0]);

    const second = await decide('bob', flowId, 'OPERATOR_APPROVE');
    assert.equal(second.status, 200, JSON.stringify(second.body));
    await waitForState(env.svc, flowId, ['completed']);
    assert.equal(await deposits(trid), 1, 'exactly one deposit');
    assert.equal(env.alpaca.callbacksFor(trid).length, 1);
    assert.deepEqual(await operatorsOf(flowId, 'OPERATOR_APPROVE'), ['alice', 'bob']);
    const c = (await env.svc.host.require(flowId)).snapshot.context;
    assert.deepEqual([c.approvedBy, c.countersignedBy], ['alice', 'bob']);
  });

  it('ends a held mint when an operator rejects it: nothing minted, no callback, no later approval', async () => {
    const { trid, flowId } = await confirmedMint('25');
    await waitForState(env.svc, flowId, ['awaitingApproval.pending']);
    assert.equal((await decide('bob', flowId, 'OPERATOR_APPROVE')).status, 200);
    const rejected = await decide('alice', flowId, 'OPERATOR_REJECT');
    assert.deepEqual([rejected.status, rejected.body.flow.state, rejected.body.flow.status], [200, 'rejectedByOperator', 'done']);
    const c = rejected.body.flow.snapshot.context;
    assert.deepEqual([c.rejectedBy, c.rejectionNote], ['alice', 'alice decides']);

    const late = await decide('bob', flowId, 'OPERATOR_APPROVE');
    assert.deepEqual([late.status, late.body.code], [409, 'event_not_accepted']);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual([await signed(flowId), await deposits(trid), env.alpaca.callbacksFor(trid).length], [0, 0, 0]);
    assert.equal((await env.svc.db('mint_view').where({ tokenization_request_id: trid }).first()).state, 'rejectedByOperator');
  });

  it('applies the threshold in force when the journal is confirmed', async () => {
    const trid = crypto.randomUUID();
    const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty: '8', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    // Lowered after the request, before the confirm: 8 is now above it.
    assert.equal((await as('bob')('PATCH', `/operator/controls/assets/${env.assetId}`, { approval_threshold: '5' })).status, 200);
    try {
      await env.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
      await waitForState(env.svc, `mint:${trid}`, ['awaitingApproval.pending']);
      const confirmed = await env.svc.db('journal').where({ flow_id: `mint:${trid}`, type: 'JOURNAL_CONFIRMED' }).first();
      assert.deepEqual(readJson(confirmed.payload), { type: 'JOURNAL_CONFIRMED', approvalThreshold: '5' }, 'the journal records the threshold applied');
    } finally {
      await as('alice')('PATCH', `/operator/controls/assets/${env.assetId}`, { approval_threshold: '10' });
    }
  });
});
