import { redemptionFlowId } from '../../core/flow-ids';
import assert from 'node:assert/strict';
import { Contract, Wallet } from 'ethers';
import { readShareBalance } from '../../chain/vault';
import type { IssuanceService } from '../../server/issuance-service';
import { count } from '../support/fixtures';
import { type MintEnv, startMintEnv, waitForState } from '../support/mint-env';
import { burnsFor, detect, mineBlocks, mintThroughFlow, sendToRedemptionWallet, units } from '../support/redemption-helpers';

type Env = MintEnv & { svc: IssuanceService };

/** Real reorgs on anvil (`anvil_reorg`): the poller must notice a stored block hash that changed. */
describe('redemption under chain reorganisations', function () {
  this.timeout(90_000);
  let env: Env;

  beforeEach(async () => {
    env = (await startMintEnv({ poller: { pollMs: 60_000, confirmations: 3 } })) as Env;
    await env.svc.poller.tick();
  });
  afterEach(() => env?.close());

  async function flowIdFor(txHash: string): Promise<string> {
    const receipt = await env.provider.getTransactionReceipt(txHash);
    return redemptionFlowId('base', txHash, receipt!.logs.find((l) => l.address.toLowerCase() === env.chain.vault.vault.toLowerCase())!.index);
  }

  it('a transfer reorganised away before it had its confirmations starts no flow', async () => {
    await mintThroughFlow(env, '2');
    const before = await readShareBalance(env.provider, env.chain.vault.vault, env.apWallet);
    const t = await sendToRedemptionWallet(env, units('1'));
    await mineBlocks(env, 1);
    await env.svc.poller.tick();
    assert.equal(await env.svc.host.get(await flowIdFor(t.txHash)), undefined, 'not yet confirmed: not acted on');
    const head = await env.provider.getBlockNumber();
    await env.provider.send('anvil_reorg', [head - t.blockNumber + 1, []]);
    assert.equal(await env.provider.getTransactionReceipt(t.txHash), null, 'the transfer is gone from the chain');
    await mineBlocks(env, 5);
    await env.svc.poller.tick();
    assert.equal(await count(env.svc.db, 'flows', { flow_type: 'redemption' }), 0);
    assert.equal(await readShareBalance(env.provider, env.chain.vault.vault, env.apWallet), before);
  });

  it('a held transfer that a deeper reorg removes is withdrawn from its flow', async () => {
    await mintThroughFlow(env, '2');
    const stranger = new Wallet(Wallet.createRandom().privateKey, env.provider);
    await env.provider.send('anvil_setBalance', [stranger.address, '0xDE0B6B3A7640000']);
    const ap = new Wallet(env.chain.apAccount.privateKey, env.provider);
    await (await new Contract(env.chain.vault.vault, ['function transfer(address,uint256) returns (bool)'], ap).getFunction('transfer')(stranger.address, units('1'))).wait();
    const t = await sendToRedemptionWallet(env, units('1'), stranger);
    const flowId = await flowIdFor(t.txHash);
    await detect(env, flowId);
    assert.equal((await env.svc.host.require(flowId)).state, 'unknownSender');
    const head = await env.provider.getBlockNumber();
    await env.provider.send('anvil_reorg', [head - t.blockNumber + 1, []]);
    await mineBlocks(env, 1);
    await env.svc.poller.tick();
    const flow = await env.svc.host.require(flowId);
    assert.deepEqual([flow.state, flow.status], ['withdrawnByReorg', 'done']);
    const row = await env.svc.db('detected_transfers').where({ tx_hash: t.txHash }).first();
    assert.equal(row.status, 'orphaned');
  });

  it('a transfer reorganised away after Alpaca was called goes to an operator and burns nothing', async () => {
    await mintThroughFlow(env, '2');
    env.alpaca.behaviour.redeemCompletesAfterMs = 3_600_000; // Alpaca keeps it pending
    const t = await sendToRedemptionWallet(env, units('1'));
    const flowId = await flowIdFor(t.txHash);
    await detect(env, flowId);
    await waitForState(env.svc, flowId, ['awaitingAlpaca.waiting', 'awaitingAlpaca.checking']);
    const head = await env.provider.getBlockNumber();
    await env.provider.send('anvil_reorg', [head - t.blockNumber + 1, []]);
    await mineBlocks(env, 1);
    await env.svc.poller.tick();
    const flow = await env.svc.host.require(flowId);
    assert.deepEqual([flow.state, flow.needsOperator], ['transferOrphaned', true]);
    env.alpaca.behaviour.redeemCompletesAfterMs = 0;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await env.svc.host.require(flowId)).state, 'transferOrphaned');
    assert.equal(await burnsFor(env, t.txHash), 0);
    assert.equal(await count(env.svc.db, 'outbox', { flow_id: flowId, type: 'submitBurn' }), 0);
  });
});
