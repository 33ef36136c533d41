import { redemptionFlowId } from '../../core/flow-ids';
import assert from 'node:assert/strict';
import { Contract, Wallet } from 'ethers';
import { loadIssuerWallet } from '../../chain/connect';
import { readReceiptBalance, readShareBalance, readTotalSupply } from '../../chain/vault';
import type { IssuanceService } from '../../server/issuance-service';
import { count } from '../support/fixtures';
import { type MintEnv, startMintEnv, waitForState } from '../support/mint-env';
import { burnsFor, detect, mineBlocks, mintThroughFlow, sendToRedemptionWallet, units } from '../support/redemption-helpers';

type Env = MintEnv & { svc: IssuanceService };

describe('redemption flow end to end (devnet, poller, fake Alpaca)', function () {
  this.timeout(90_000);
  let env: Env;

  beforeEach(async () => {
    env = (await startMintEnv({ poller: { pollMs: 60_000 } })) as Env; // the tests tick the poller themselves
    await env.svc.poller.tick(); // first sight: the cursor starts at the current safe head
  });
  afterEach(() => env?.close());

  const flowOf = (t: { txHash: string }) => redemptionFlowId('base', t.txHash, firstLogIndex.get(t.txHash) ?? 0);
  const firstLogIndex = new Map<string, number>();

  async function flowIdFor(txHash: string): Promise<string> {
    const receipt = await env.provider.getTransactionReceipt(txHash);
    const log = receipt!.logs.find((l) => l.topics[0] === '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef');
    firstLogIndex.set(txHash, log!.index);
    return flowOf({ txHash });
  }

  it('detects the transfer, calls Alpaca, polls to completion, burns once from the receipt inventory', async () => {
    const receiptId = await mintThroughFlow(env, '10');
    const supplyBefore = await readTotalSupply(env.provider, env.chain.vault.vault);
    const t = await sendToRedemptionWallet(env, units('4.25'));
    const flowId = await flowIdFor(t.txHash);
    await detect(env, flowId);
    await waitForState(env.svc, flowId, ['completed']);

    assert.equal(supplyBefore - (await readTotalSupply(env.provider, env.chain.vault.vault)), units('4.25'));
    assert.equal(await readShareBalance(env.provider, env.chain.vault.vault, env.chain.issuerAddress), 0n);
    assert.equal(await readReceiptBalance(env.provider, env.chain.vault.receipt, env.chain.issuerAddress, BigInt(receiptId)), units('5.75'));
    const inventory = await env.svc.db('receipt_inventory').where({ receipt_id: receiptId }).first();
    assert.equal(inventory.shares_remaining, units('5.75').toString());
    assert.equal(await burnsFor(env, t.txHash), 1);

    const redeems = env.alpaca.redeems.filter((r) => r.body.tx_hash === t.txHash);
    assert.equal(redeems.length, 1);
    assert.equal(redeems[0]!.body.qty, '4.25');
    assert.equal(redeems[0]!.body.wallet_address, env.apWallet);
    assert.equal(redeems[0]!.body.client_external_account_id, env.apId);
    assert.ok(redeems[0]!.idempotencyKey);

    const view = await env.svc.db('redemption_view').where({ flow_id: flowId }).first();
    assert.equal(view.state, 'completed');
    assert.deepEqual(JSON.parse(view.receipts_used), [{ receiptId, amountUnits: units('4.25').toString() }]);
    assert.match(view.burn_tx_hash, /^0x[0-9a-f]{64}$/);
    assert.ok(view.tokenization_request_id);
    const verified = await env.operator('GET', '/operator/receipts?verify=chain');
    assert.equal(verified.body.mismatches, 0);
    assert.equal(verified.body.receipts.find((r: any) => r.receipt_id === receiptId).on_chain, units('5.75').toString());
    // A view row that drifted from the chain is reported.
    await env.svc.db('receipt_inventory').where({ receipt_id: receiptId }).update({ shares_remaining: '1' });
    assert.equal((await env.operator('GET', '/operator/receipts?verify=chain')).body.mismatches, 1);
  });

  it('burns across two receipts, oldest first, when one is not enough', async () => {
    const first = await mintThroughFlow(env, '1');
    const second = await mintThroughFlow(env, '2');
    const t = await sendToRedemptionWallet(env, units('1.5'));
    const flowId = await flowIdFor(t.txHash);
    await detect(env, flowId);
    await waitForState(env.svc, flowId, ['completed']);
    const flow = await env.svc.host.require(flowId);
    assert.deepEqual(flow.snapshot.context.receiptsUsed, [
      { receiptId: first, amountUnits: units('1').toString() },
      { receiptId: second, amountUnits: units('0.5').toString() },
    ]);
    assert.equal(await readReceiptBalance(env.provider, env.chain.vault.receipt, env.chain.issuerAddress, BigInt(first)), 0n);
    assert.equal(await readReceiptBalance(env.provider, env.chain.vault.receipt, env.chain.issuerAddress, BigInt(second)), units('1.5'));
    assert.equal(await burnsFor(env, t.txHash), 1);
  });

  it('rounds the token amount down to 9 decimals for Alpaca and records the dust', async () => {
    await mintThroughFlow(env, '1');
    const amount = units('0.5') + 123n; // 0.500000000000000123
    const t = await sendToRedemptionWallet(env, amount);
    const flowId = await flowIdFor(t.txHash);
    await detect(env, flowId);
    await waitForState(env.svc, flowId, ['completed']);
    const redeem = env.alpaca.redeems.find((r) => r.body.tx_hash === t.txHash)!;
    assert.equal(redeem.body.qty, '0.5');
    const view = await env.svc.db('redemption_view').where({ flow_id: flowId }).first();
    assert.equal(view.dust_units, '123');
    assert.equal(await readShareBalance(env.provider, env.chain.vault.vault, env.chain.issuerAddress), 123n, 'the dust stays in the redemption wallet');
  });

  it('holds a transfer from an unregistered wallet for an operator and never calls Alpaca', async () => {
    await mintThroughFlow(env, '3');
    const stranger = new Wallet(Wallet.createRandom().privateKey, env.provider);
    await env.provider.send('anvil_setBalance', [stranger.address, '0xDE0B6B3A7640000']);
    const ap = new Wallet(env.chain.apAccount.privateKey, env.provider);
    await (await (new Contract(env.chain.vault.vault, ['function transfer(address,uint256) returns (bool)'], ap).getFunction('transfer'))(stranger.address, units('1'))).wait();
    const t = await sendToRedemptionWallet(env, units('1'), stranger);
    const flowId = await flowIdFor(t.txHash);
    await detect(env, flowId);
    const flow = await env.svc.host.require(flowId);
    assert.deepEqual([flow.state, flow.needsOperator], ['unknownSender', true]);
    assert.equal(env.alpaca.redeems.filter((r) => r.body.tx_hash === t.txHash).length, 0);
    // The operator sends them back.
    await env.operator('POST', `/operator/flows/${encodeURIComponent(flowId)}/events`, { type: 'OPERATOR_RETURN_TO_SENDER' });
    await waitForState(env.svc, flowId, ['returnedToSender']);
    assert.equal(await readShareBalance(env.provider, env.chain.vault.vault, stranger.address), units('1'));
  });

  it('on an Alpaca rejection keeps the tokens, waits for an operator, and burns nothing', async () => {
    await mintThroughFlow(env, '2');
    env.alpaca.behaviour.redeemOutcome = 'rejected';
    const t = await sendToRedemptionWallet(env, units('2'));
    const flowId = await flowIdFor(t.txHash);
    await detect(env, flowId);
    await waitForState(env.svc, flowId, ['alpacaRejected']);
    assert.equal(await readShareBalance(env.provider, env.chain.vault.vault, env.chain.issuerAddress), units('2'));
    assert.equal(await burnsFor(env, t.txHash), 0);
    await env.operator('POST', `/operator/flows/${encodeURIComponent(flowId)}/events`, { type: 'OPERATOR_RETURN_TO_SENDER' });
    await waitForState(env.svc, flowId, ['returnedToSender']);
    assert.equal(await readShareBalance(env.provider, env.chain.vault.vault, env.chain.issuerAddress), 0n);
  });

  it('rides out Alpaca failing for a while: retries the redeem with the same Idempotency-Key, redeems once', async () => {
    await mintThroughFlow(env, '2');
    env.alpaca.behaviour.failNext('redeem', 2, 503);
    env.alpaca.behaviour.failNext('lookup', 1, 503);
    env.alpaca.behaviour.lookupNotFoundFirst = 1;
    const t = await sendToRedemptionWallet(env, units('1'));
    const flowId = await flowIdFor(t.txHash);
    await detect(env, flowId);
    await waitForState(env.svc, flowId, ['completed']);
    const calls = env.alpaca.redeems.filter((r) => r.body.tx_hash === t.txHash);
    assert.equal(calls.length, 3);
    assert.equal(new Set(calls.map((c) => c.idempotencyKey)).size, 1);
    assert.equal(env.alpaca.redeemRequests().filter((r) => r.tx_hash === t.txHash).length, 1);
    assert.equal(await burnsFor(env, t.txHash), 1);
  });

  it('parks the flow when the receipt inventory cannot back the burn, burning nothing', async () => {
    // Shares minted straight on the vault, outside our flow: we hold no receipt for them.
    const issuer = await loadIssuerWallet(env.chain.keystoreFile, env.chain.keystorePasswordFile);
    const vault = new Contract(env.chain.vault.vault, ['function deposit(uint256,address,uint256,bytes) returns (uint256)'], issuer.connect(env.provider));
    await (await vault.getFunction('deposit')(units('1'), env.apWallet, 10n ** 18n, '0x')).wait();
    const t = await sendToRedemptionWallet(env, units('1'));
    const flowId = await flowIdFor(t.txHash);
    await detect(env, flowId);
    await waitForState(env.svc, flowId, ['insufficientInventory']);
    assert.equal(await burnsFor(env, t.txHash), 0);
    assert.equal(await count(env.svc.db, 'chain_transactions', { flow_id: flowId }), 0);
  });

  it('ignores duplicate logs: a rescan of the same blocks starts nothing new', async () => {
    await mintThroughFlow(env, '1');
    const t = await sendToRedemptionWallet(env, units('1'));
    const flowId = await flowIdFor(t.txHash);
    await detect(env, flowId);
    await env.svc.db('chain_cursor').update({ last_block: t.blockNumber - 1, last_block_hash: (await env.provider.getBlock(t.blockNumber - 1))!.hash! });
    await env.svc.db('chain_blocks').where('block_number', '>=', t.blockNumber).delete();
    await mineBlocks(env, 1);
    assert.equal(await env.svc.poller.tick(), 0);
    assert.equal(await count(env.svc.db, 'flows', { flow_type: 'redemption' }), 1);
    await waitForState(env.svc, flowId, ['completed']);
    assert.equal(await burnsFor(env, t.txHash), 1);
  });
});
