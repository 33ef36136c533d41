import { redemptionFlowId } from '../../core/flow-ids';
import assert from 'node:assert/strict';
import { readShareBalance } from '../../chain/vault';
import type { IssuanceService } from '../../server/issuance-service';
import { type MintEnv, startMintEnv, waitForState } from '../support/mint-env';
import { burnsFor, detect, mintThroughFlow, sendToRedemptionWallet, units } from '../support/redemption-helpers';
import { asOperator, newOperators } from './helpers';

type Env = MintEnv & { svc: IssuanceService };
const DAY_MS = 86_400_000;

/** The daily redemption cap, end to end: redemptions are detected on chain, so one over the cap is held, not refused. */
describe('risk controls: daily redemption cap', function () {
  this.timeout(60_000);
  const ops = newOperators();
  let env: Env;

  before(async () => {
    env = (await startMintEnv({ poller: { pollMs: 60_000 } }, { config: { operators: new Map(Object.entries(ops)) } })) as Env;
    await env.svc.poller.tick();
    await mintThroughFlow(env, '10');
    const set = await asOperator(env.svc.url, ops.alice, 'PATCH', `/operator/controls/assets/${env.assetId}`, { daily_redemption_cap: '3' });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });
  after(() => env?.close());

  const as = (who: 'alice' | 'bob') => (method: string, path: string, body?: unknown) => asOperator(env.svc.url, ops[who], method, path, body);
  const redeemedToday = async () => ((await as('bob')('GET', '/operator/controls')).body.assets as any[]).find((a) => a.asset_id === env.assetId).redeemed_today;
  const alpacaCalls = (txHash: string) => env.alpaca.redeems.filter((r) => r.body.tx_hash === txHash).length;

  /** The AP sends `qty` back; answers the transfer and its flow once the poller has seen it. */
  async function redeem(qty: string) {
    const t = await sendToRedemptionWallet(env, units(qty));
    const receipt = await env.provider.getTransactionReceipt(t.txHash);
    const flowId = redemptionFlowId('base', t.txHash, receipt!.logs[0]!.index);
    await detect(env, flowId);
    return { ...t, flowId };
  }

  it('redeems within the cap and holds the redemption that would exceed it, without calling Alpaca, until an operator releases it', async () => {
    const first = await redeem('2');
    await waitForState(env.svc, first.flowId, ['completed']);
    assert.equal(await redeemedToday(), '2');

    const over = await redeem('1.5');
    assert.equal(await waitForState(env.svc, over.flowId, ['dailyCapExceeded']), 'dailyCapExceeded');
    const held = await as('bob')('GET', `/operator/flows/${encodeURIComponent(over.flowId)}`);
    assert.equal(held.body.flow.needsOperator, true);
    assert.deepEqual(held.body.operator_events.sort(), ['OPERATOR_RETRY', 'OPERATOR_RETURN_TO_SENDER']);
    assert.deepEqual(held.body.flow.snapshot.context.failure, { code: 'daily_redemption_cap_exceeded', message: '1.5 AAPL would exceed the daily redemption cap of 3 (2 redeemed today)' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(alpacaCalls(over.txHash), 0, 'Alpaca is not called for a held redemption');
    assert.equal(await redeemedToday(), '2', 'a held redemption does not count');

    const released = await as('bob')('POST', `/operator/flows/${encodeURIComponent(over.flowId)}/events`, { type: 'OPERATOR_RETRY', note: 'approved by treasury' });
    assert.equal(released.status, 200, JSON.stringify(released.body));
    await waitForState(env.svc, over.flowId, ['completed']);
    assert.deepEqual([alpacaCalls(over.txHash), await burnsFor(env, over.txHash)], [1, 1]);
    assert.equal(await redeemedToday(), '3.5', 'a released redemption counts');
  });

  it('lets an operator return a held redemption to its sender instead', async () => {
    const balance = await readShareBalance(env.provider, env.chain.vault.vault, env.apWallet);
    const over = await redeem('0.25');
    await waitForState(env.svc, over.flowId, ['dailyCapExceeded']);
    assert.equal((await as('alice')('POST', `/operator/flows/${encodeURIComponent(over.flowId)}/events`, { type: 'OPERATOR_RETURN_TO_SENDER' })).status, 200);
    await waitForState(env.svc, over.flowId, ['returnedToSender']);
    assert.equal(await readShareBalance(env.provider, env.chain.vault.vault, env.apWallet), balance, 'the AP has its tokens back');
    assert.deepEqual([alpacaCalls(over.txHash), await burnsFor(env, over.txHash)], [0, 0]);
  });

  it('counts redemptions per UTC day (service clock)', async () => {
    const now = env.clock.now();
    env.clock.advance(Math.ceil((now + 1) / DAY_MS) * DAY_MS - now + 1_000);
    assert.equal(await redeemedToday(), '0');
    const next = await redeem('3');
    await waitForState(env.svc, next.flowId, ['completed']);
    assert.equal(await redeemedToday(), '3');
  });
});
