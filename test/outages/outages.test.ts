import { redemptionFlowId } from '../../core/flow-ids';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Contract, Wallet } from 'ethers';
import type { IssuanceService } from '../../server/issuance-service';
import { depositsByRequest } from '../support/chain-evidence';
import { count } from '../support/fixtures';
import { type MintEnv, startMintEnv, waitForState } from '../support/mint-env';
import { burnsFor, mineBlocks, mintThroughFlow, sendToRedemptionWallet, units } from '../support/redemption-helpers';

type Env = MintEnv & { svc: IssuanceService };

/** The node and Alpaca go away for a while: flows pause and resume; nothing is skipped, lost or done twice. */
describe('outages of the RPC node and of Alpaca', function () {
  this.timeout(90_000);
  let env: Env;
  beforeEach(async () => {
    env = (await startMintEnv({ poller: { pollMs: 60_000 } })) as Env;
    await env.svc.poller.tick();
  });
  afterEach(() => env?.close());

  it('the poller never moves its cursor past blocks it could not read, and picks the transfer up when the node is back', async () => {
    await mintThroughFlow(env, '2');
    const cursorBefore = await env.svc.db('chain_cursor').first();
    env.rpc.down = true;
    const t = await sendToRedemptionWallet(env, units('1'));
    await mineBlocks(env, 3);
    await assert.rejects(env.svc.poller.tick());
    await assert.rejects(env.svc.poller.tick());
    const cursorDuring = await env.svc.db('chain_cursor').first();
    assert.ok(Number(cursorDuring.last_block) <= Number(cursorBefore.last_block) + 0, 'cursor did not move while the node was down');
    env.rpc.down = false;
    await env.svc.poller.tick();
    const receipt = await env.provider.getTransactionReceipt(t.txHash);
    const flowId = redemptionFlowId('base', t.txHash, receipt!.logs[0]!.index);
    await waitForState(env.svc, flowId, ['completed']);
    assert.equal(await count(env.svc.db, 'flows', { flow_type: 'redemption' }), 1);
    assert.equal(await burnsFor(env, t.txHash), 1);
  });

  it('a mint confirmed while the node is unreachable waits, then mints exactly once', async () => {
    env.rpc.down = true;
    const trid = crypto.randomUUID();
    const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    await env.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
    await new Promise((r) => setTimeout(r, 1_500));
    const flow = await env.svc.host.require(`mint:${trid}`);
    assert.equal(flow.state, 'minting.submitting');
    const effect = await env.svc.db('outbox').where({ flow_id: flow.flowId, type: 'submitMintTransaction' }).first();
    assert.ok(Number(effect.attempts) >= 1 && effect.status === 'pending', 'the submission is being retried');
    env.rpc.down = false;
    await waitForState(env.svc, `mint:${trid}`, ['completed'], 30_000);
    assert.equal((await depositsByRequest(env.provider, env.chain.vault.vault)).get(trid), 1);
  });

  it('Alpaca answering 503 to everything for a while: the callback is retried and lands once Alpaca is back', async () => {
    await env.restart({ mint: { callbackRetry: { baseMs: 100, capMs: 400, maxAttempts: 30 } } });
    env.alpaca.behaviour.outage(true);
    const trid = crypto.randomUUID();
    env.alpaca.behaviour.outage(false);
    const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    env.alpaca.behaviour.outage(true);
    await env.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
    await waitForState(env.svc, `mint:${trid}`, ['callingBack']);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await env.svc.host.require(`mint:${trid}`)).state, 'callingBack');
    env.alpaca.behaviour.outage(false);
    await waitForState(env.svc, `mint:${trid}`, ['completed'], 30_000);
    const accepted = env.alpaca.callbacksFor(trid).filter((c: any) => c.status === 200);
    assert.equal(accepted.length, 1);
    assert.equal((await depositsByRequest(env.provider, env.chain.vault.vault)).get(trid), 1);
  });

  it('a vault that refuses the mint (owner freeze) puts the flow in mintReverted with the decoded reason, minting nothing', async () => {
    const owner = new Wallet(env.chain.devnet.accounts[0]!.privateKey, env.provider);
    const vault = new Contract(env.chain.vault.vault, ['function ownerFreezeUntil(uint256)'], owner);
    const block = await env.provider.getBlock('latest');
    await (await vault.getFunction('ownerFreezeUntil')(BigInt(block!.timestamp) + 3600n)).wait();
    const trid = crypto.randomUUID();
    const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    await env.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
    await waitForState(env.svc, `mint:${trid}`, ['mintReverted']);
    const flow = await env.svc.host.require(`mint:${trid}`);
    assert.equal(flow.snapshot.context.failure.code, 'owner_frozen');
    assert.equal(flow.needsOperator, true);
    assert.equal((await depositsByRequest(env.provider, env.chain.vault.vault)).get(trid), undefined);
    assert.equal(env.alpaca.callbacksFor(trid).length, 0, 'no callback for a request that did not mint');
  });

  it('the node restarted (same chain, new blocks, another port): flows in flight carry on, nothing twice', async () => {
    await mintThroughFlow(env, '3');
    // A mint waits for its journal while the node restarts; a redemption arrives after.
    const trid = crypto.randomUUID();
    const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    const blockBefore = await env.provider.getBlockNumber();
    await env.restartNode();
    assert.ok((await env.provider.getBlockNumber()) >= blockBefore, 'same chain, same height');
    await env.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
    await waitForState(env.svc, `mint:${trid}`, ['completed']);
    assert.equal((await depositsByRequest(env.provider, env.chain.vault.vault)).get(trid), 1);
    const t = await sendToRedemptionWallet(env, units('2'));
    await mineBlocks(env, 1);
    await env.svc.poller.tick();
    const flowId = redemptionFlowId('base', t.txHash, (await env.provider.getTransactionReceipt(t.txHash))!.logs[0]!.index);
    await waitForState(env.svc, flowId, ['completed']);
    assert.equal(await burnsFor(env, t.txHash), 1);
  });

  it('Alpaca answering slower than our timeout for a while: the callback is retried, lands, and carries one tx hash', async () => {
    await env.restart({ mint: { callbackRetry: { baseMs: 50, capMs: 200, maxAttempts: 30 } } });
    const trid = crypto.randomUUID();
    const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    env.alpaca.behaviour.delayMs = 2_500; // the client gives up after 2 s
    await env.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
    await waitForState(env.svc, `mint:${trid}`, ['callingBack']);
    const attempts = async () => Number((await env.svc.db('outbox').where({ flow_id: `mint:${trid}`, type: 'notifyAlpacaOfMint' }).first())?.attempts ?? 0);
    for (let i = 0; i < 100 && (await attempts()) < 2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok((await attempts()) >= 2, 'timed-out attempts were retried');
    assert.equal((await env.svc.host.require(`mint:${trid}`)).state, 'callingBack');
    env.alpaca.behaviour.delayMs = 0;
    await waitForState(env.svc, `mint:${trid}`, ['completed'], 30_000);
    const hashes = new Set(env.alpaca.callbacksFor(trid).map((c: any) => c.body.tx_hash));
    assert.equal(hashes.size, 1, 'every delivery carried the same transaction');
    assert.equal((await depositsByRequest(env.provider, env.chain.vault.vault)).get(trid), 1);
  });
});
