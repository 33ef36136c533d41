import assert from 'node:assert/strict';
import type { TestService } from '../support/service';
import { type EffectScript, mintInput, operatorToken, redemptionInput, startMint, startOperatorService, startRedemption, waitForState } from './fixtures';
import { waitFor } from '../support/wait-for';

/** The operator API for ops tooling: flow filters and paging, the readable timeline, effect retries, operator identity in the journal. */
describe('operator API: flows, effects, operator identity', function () {
  this.timeout(30_000);
  const script: EffectScript = { callbackFailures: 0 };
  const aliceToken = operatorToken();
  let svc: TestService;
  let completedMint: string;
  let waitingMint: string;
  let heldRedemption: string;

  async function as(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${svc.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  }
  const alice = (method: string, path: string, body?: unknown) => as(aliceToken, method, path, body);
  const flowIds = (res: { body: any }) => (res.body.flows as Array<{ flow_id: string }>).map((f) => f.flow_id).sort();
  const enc = encodeURIComponent;

  before(async () => {
    svc = await startOperatorService(script, { alice: aliceToken });
    completedMint = await startMint(svc, mintInput({ tokenSymbol: 'tAAPL', underlyingSymbol: 'AAPL' }));
    await svc.host.send(completedMint, { type: 'JOURNAL_CONFIRMED' });
    await waitForState(svc, completedMint, 'completed');
    waitingMint = await startMint(svc, mintInput({ tokenSymbol: 'tMSFT', underlyingSymbol: 'MSFT' }));
    heldRedemption = await startRedemption(svc, redemptionInput({ tokenSymbol: 'tAAPL', underlyingSymbol: 'AAPL' }));
  });
  after(() => svc?.close());

  it('filters flows by type, state (and parent state), asset symbol in any case, and needs_operator', async () => {
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?type=mint')), [completedMint, waitingMint].sort());
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?state=completed')), [completedMint]);
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?state=awaitingJournal')), [waitingMint]);
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?asset=aapl')), [completedMint, heldRedemption].sort());
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?asset=tMSFT')), [waitingMint]);
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?asset=TSLA')), []);
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?needs_operator=true')), [heldRedemption]);
    const row = (await alice('GET', '/operator/flows?type=redemption')).body.flows[0];
    assert.deepEqual([row.state, row.needs_operator, row.token_symbol, row.underlying_symbol, row.qty], ['unknownSender', true, 'tAAPL', 'AAPL', '1']);
  });

  it('lists stuck flows (not final, no event for stuck_minutes) and flows by age, on the service clock', async () => {
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?stuck=true')), []);
    const startedAt = new Date(svc.testClock.now()).toISOString();
    svc.testClock.advance(31 * 60_000);
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?stuck=true')), [waitingMint, heldRedemption].sort());
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?stuck=true&needs_operator=false')), [waitingMint]);
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?stuck=true&stuck_minutes=45')), []);
    assert.equal(flowIds(await alice('GET', '/operator/flows?older_than=1800')).length, 3);
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?older_than=3600')), []);
    assert.deepEqual(flowIds(await alice('GET', `/operator/flows?since=${enc(startedAt)}`)), []);
    // A flow that moves is no longer stuck.
    await svc.host.send(waitingMint, { type: 'JOURNAL_REJECTED' });
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?stuck=true')), [heldRedemption]);
  });

  it('pages with limit and the cursor of the previous page, newest activity first', async () => {
    const first = await alice('GET', '/operator/flows?limit=2');
    assert.equal(first.body.flows.length, 2);
    assert.equal(typeof first.body.next_cursor, 'string');
    const second = await alice('GET', `/operator/flows?limit=2&cursor=${enc(first.body.next_cursor)}`);
    assert.equal(second.body.flows.length, 1);
    assert.equal(second.body.next_cursor, null);
    const all = [...flowIds(first), ...flowIds(second)].sort();
    assert.deepEqual(all, [completedMint, waitingMint, heldRedemption].sort());
    const updated = [...first.body.flows, ...second.body.flows].map((f: any) => f.updated_at);
    assert.deepEqual(updated, [...updated].sort().reverse());
  });

  it('matches a parent state by whole name (minting lists minting.submitting)', async () => {
    script.submitFailures = 1;
    const submitting = await startMint(svc, mintInput({ tokenSymbol: 'tAAPL', underlyingSymbol: 'AAPL' }));
    await svc.host.send(submitting, { type: 'JOURNAL_CONFIRMED' });
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?state=minting')), [submitting]);
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?state=minting.submitting')), [submitting]);
    assert.deepEqual(flowIds(await alice('GET', '/operator/flows?state=mint')), []);
  });

  it('answers 400 invalid_request to a bad query, naming the parameter', async () => {
    for (const q of ['limit=0', 'limit=501', 'older_than=-1', 'stuck=yes', 'stuck_minutes=10', 'since=yesterday', 'cursor=bm9wZQ', 'needs-operator=true', 'asset=']) {
      const res = await alice('GET', `/operator/flows?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.code, 'invalid_request', q);
      assert.ok(res.body.issues.length > 0, q);
    }
  });

  it('shows one flow with a readable timeline and the operator events its state takes; 404 for an unknown flow', async () => {
    const res = await alice('GET', `/operator/flows/${enc(completedMint)}`);
    assert.equal(res.status, 200);
    const timeline = res.body.timeline as any[];
    assert.deepEqual(timeline.map((e) => e.type), ['flow.started', 'JOURNAL_CONFIRMED', 'MINT_TX_SENT', 'MINT_CONFIRMED', 'CALLBACK_ACKNOWLEDGED']);
    assert.deepEqual(timeline.map((e) => e.seq), [1, 2, 3, 4, 5]);
    assert.equal(timeline.length, res.body.journal.length);
    for (const e of timeline) assert.match(e.recorded_at, /^\d{4}-\d\d-\d\dT/);
    assert.match(timeline[2].payload.txHash, /^0x[0-9a-f]{64}$/);
    assert.equal(timeline[2].payload.type, undefined, 'the type is not repeated in the payload');
    assert.equal(timeline[2].causation_id, res.body.outbox[0].effect_id, 'an effect result names its outbox row');
    assert.deepEqual(res.body.operator_events, []);
    const held = await alice('GET', `/operator/flows/${enc(heldRedemption)}`);
    assert.deepEqual([...held.body.operator_events].sort(), ['OPERATOR_CLOSE', 'OPERATOR_RETURN_TO_SENDER']);
    const missing = await alice('GET', `/operator/flows/${enc('mint:nope')}`);
    assert.deepEqual([missing.status, missing.body.code], [404, 'flow_not_found']);
  });

  it('refuses an operator event the state does not take with 409, naming the events it does take', async () => {
    const journalBefore = (await svc.db('journal').count({ n: '*' }))[0]!.n;
    const done = await alice('POST', `/operator/flows/${enc(completedMint)}/events`, { type: 'OPERATOR_CLOSE' });
    assert.deepEqual([done.status, done.body.code, done.body.state, done.body.operator_events], [409, 'event_not_accepted', 'completed', []]);
    const wrong = await alice('POST', `/operator/flows/${enc(heldRedemption)}/events`, { type: 'OPERATOR_RETRY' });
    assert.deepEqual([wrong.status, wrong.body.code], [409, 'event_not_accepted']);
    assert.deepEqual([...wrong.body.operator_events].sort(), ['OPERATOR_CLOSE', 'OPERATOR_RETURN_TO_SENDER']);
    const spoofed = await alice('POST', `/operator/flows/${enc(heldRedemption)}/events`, { type: 'OPERATOR_CLOSE', operator: 'mallory' });
    assert.deepEqual([spoofed.status, spoofed.body.code], [400, 'invalid_request'], 'the identity comes from the token, never the body');
    assert.equal((await svc.db('journal').count({ n: '*' }))[0]!.n, journalBefore);
  });

  it('journals an operator event with the identity of the token that sent it', async () => {
    const res = await alice('POST', `/operator/flows/${enc(heldRedemption)}/events`, { type: 'OPERATOR_CLOSE', note: 'sender unknown to us; returned off-chain' });
    assert.equal(res.status, 200);
    assert.equal(res.body.flow.state, 'closedByOperator');
    const last = await svc.db('journal').where({ flow_id: heldRedemption }).orderBy('seq', 'desc').first();
    assert.deepEqual(JSON.parse(last.payload), { type: 'OPERATOR_CLOSE', note: 'sender unknown to us; returned off-chain', operator: 'alice' });
    const shown = await svc.operator('GET', `/operator/flows/${enc(heldRedemption)}`);
    assert.equal(shown.body.timeline.at(-1).operator, 'alice');
  });

  it('journals asset and AP changes with the operator who made them', async () => {
    const added = await alice('POST', '/operator/assets', { underlying_symbol: 'NVDA', token_symbol: 'tNVDA', network: 'base', vault_address: '0x' + '7e'.repeat(20) });
    assert.equal(added.status, 201);
    await svc.operator('POST', `/operator/assets/${added.body.asset_id}/halt`, { reason: 'corporate action' });
    const events = await svc.db('journal').where({ flow_id: `asset:${added.body.asset_id}` }).orderBy('seq');
    assert.deepEqual(events.map((e: any) => [e.type, JSON.parse(e.payload).operator]), [['asset.added', 'alice'], ['asset.halted', 'operator']]);
    const ap = await alice('POST', '/operator/aps', { email: 'desk@ops.example', wallets: [{ network: 'base', address: '0x' + '3d'.repeat(20) }] });
    const registered = await svc.db('journal').where({ flow_id: `ap:${ap.body.apId}` }).first();
    assert.equal(JSON.parse(registered.payload).operator, 'alice');
  });

  describe('retrying an effect', () => {
    let flowId: string;
    const effectRow = async () => svc.db('outbox').where({ flow_id: flowId, type: 'notifyAlpacaOfMint' }).first();
    const retry = (effectId: string, id = flowId) => alice('POST', `/operator/flows/${enc(id)}/effects/${enc(effectId)}/retry`, {});

    before(async () => {
      script.callbackFailures = 3;
      flowId = await startMint(svc, mintInput({ tokenSymbol: 'tAAPL', underlyingSymbol: 'AAPL' }));
      await svc.host.send(flowId, { type: 'JOURNAL_CONFIRMED' });
      await waitFor('the first callback attempt to fail', async () => Number((await effectRow())?.attempts) === 1 && (await effectRow())?.last_error);
    });

    it('makes a pending effect in backoff due now, recording who did it on the row', async () => {
      const row = await effectRow();
      assert.ok(Number(row.next_attempt_at) > svc.testClock.now() + 30 * 60_000, 'in a long backoff');
      const res = await retry(row.effect_id);
      assert.equal(res.status, 200);
      assert.deepEqual([res.body.outcome, res.body.operator, res.body.effect.type], ['made_due', 'alice', 'notifyAlpacaOfMint']);
      assert.match(res.body.effect.last_error, /^made due by alice at .*; last error: Alpaca answered 503/);
      // The action is in the journal, with who did it, even after the row's next result replaces its text.
      const audit = await svc.db('journal').where({ flow_id: `effect:${row.effect_id}` });
      assert.equal(audit.length, 1);
      const payload = typeof audit[0].payload === 'string' ? JSON.parse(audit[0].payload) : audit[0].payload;
      assert.deepEqual([audit[0].type, payload.operator, payload.flowId, payload.effectType], ['effect.made_due', 'alice', flowId, 'notifyAlpacaOfMint']);
      await waitFor('the second attempt', async () => Number((await effectRow()).attempts) === 2);
      assert.equal((await svc.host.require(flowId)).state, 'callingBack', 'still retrying: the effect has attempts left');
    });

    it('refuses an unknown effect (404), a done one and a running one (409)', async () => {
      const unknown = await retry('01HNOPE0000000000000000000');
      assert.deepEqual([unknown.status, unknown.body.code], [404, 'effect_not_found']);
      const row = await effectRow();
      assert.equal((await retry(row.effect_id, completedMint)).body.code, 'effect_not_found', 'the effect must belong to the flow named');
      const submitted = await svc.db('outbox').where({ flow_id: flowId, type: 'submitMintTransaction' }).first();
      const done = await retry(submitted.effect_id);
      assert.deepEqual([done.status, done.body.code], [409, 'effect_already_done']);
      await svc.db('outbox').where({ effect_id: row.effect_id }).update({ lease_until: svc.testClock.now() + 60_000 });
      const running = await retry(row.effect_id);
      assert.deepEqual([running.status, running.body.code], [409, 'effect_running']);
      await svc.db('outbox').where({ effect_id: row.effect_id }).update({ lease_until: 0 });
    });

    it('refuses a failed effect with 409 pointing to the operator event that retries its flow', async () => {
      const row = await effectRow();
      await retry(row.effect_id);
      await waitForState(svc, flowId, 'callbackFailed');
      assert.equal((await effectRow()).status, 'failed');
      const res = await retry(row.effect_id);
      assert.deepEqual([res.status, res.body.code, res.body.state, res.body.operator_events], [409, 'effect_failed_use_operator_event', 'callbackFailed', ['OPERATOR_RETRY_CALLBACK']]);
      assert.match(res.body.message, /OPERATOR_RETRY_CALLBACK/);
      const resumed = await alice('POST', `/operator/flows/${enc(flowId)}/events`, { type: 'OPERATOR_RETRY_CALLBACK' });
      assert.equal(resumed.status, 200);
      await waitForState(svc, flowId, 'completed');
    });

    it('refuses an effect cancelled because its flow moved on (409)', async () => {
      const redemption = await startRedemption(svc, redemptionInput({ tokenSymbol: 'tAAPL', underlyingSymbol: 'AAPL', apId: '01HZZZZZZZZZZZZZZZZZZZZZZZ', clientRef: { client_external_account_id: '01HZZZZZZZZZZZZZZZZZZZZZZZ' } }));
      await waitFor('the redeem call to fail once', async () => Number((await svc.db('outbox').where({ flow_id: redemption }).first())?.attempts) === 1);
      await svc.host.send(redemption, { type: 'TRANSFER_ORPHANED', blockNumber: 10 });
      const row = await svc.db('outbox').where({ flow_id: redemption }).first();
      assert.equal(row.status, 'cancelled');
      const res = await retry(row.effect_id, redemption);
      assert.deepEqual([res.status, res.body.code], [409, 'effect_cancelled']);
    });
  });
});
