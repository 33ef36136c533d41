import { redemptionFlowId } from '../../core/flow-ids';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Contract, Wallet } from 'ethers';
import { decodeWithdrawLog } from '../../chain/vault';
import { depositsByRequest } from '../support/chain-evidence';
import { type CrashHarness, startCrashHarness } from '../support/crash-harness';
import { type Cluster, countFlows, inParallel, startCluster } from '../support/cluster';
import { waitFor } from '../support/wait-for';
import { tempDir } from '../support/service';
import { onPostgres } from '../support/test-database';

const MINTS = Number(process.env.SCALE_MINTS ?? 300);
const REDEMPTIONS = Number(process.env.SCALE_REDEMPTIONS ?? 100);
const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

/**
 * Three bot processes on one PostgreSQL database behind a round-robin balancer. 300 mints and 100
 * redemptions go through the fake Alpaca and the devnet; mid-way the instance holding the transfer
 * poller's lease is SIGKILLed and later restarted. Every flow must complete, with exactly one deposit
 * per mint request and one burn per redemption, counted from the chain's own events, and the poller
 * must have failed over to another instance.
 */
(onPostgres() ? describe : describe.skip)('scale: three instances on one PostgreSQL database', function () {
  this.timeout(600_000);
  let h: CrashHarness;
  let cluster: Cluster;

  before(async () => {
    h = await startCrashHarness();
    cluster = await startCluster(h, tempDir('issuance-scale-'), ['bot-a', 'bot-b', 'bot-c']);
  });
  after(async () => {
    await cluster?.close();
    await h?.close();
  });

  it('completes every mint and redemption exactly once while the poller instance is killed and restarted', async () => {
    const { db, lb } = cluster;
    const clientId = await h.seed([...cluster.instances.values()][0]!, 'scale@ap.example');
    const leader = await waitFor('a poller lease holder', () => cluster.pollerHolder(), 20_000, 200);
    const holders = [leader];

    // 300 mints through the balancer, 16 at a time: any instance takes any request.
    const trids = Array.from({ length: MINTS }, () => crypto.randomUUID());
    await inParallel(trids, 16, async (trid) => {
      const created = await h.alpaca.requestMint({ tokenization_request_id: trid, qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: h.chain.apAccount.address, client_external_account_id: clientId });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const confirmed = await h.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    });
    await waitFor(`${MINTS} completed mints`, async () => (await countFlows(db, 'mint', 'completed')) === MINTS, 240_000, 200);

    // 100 transfers back to the redemption wallet; the poller's instance is killed half way.
    const ap = new Wallet(h.chain.apAccount.privateKey, h.provider);
    const token = new Contract(h.chain.vault.vault, ['function transfer(address to, uint256 amount) returns (bool)'], ap);
    const flowIds: string[] = [];
    let killed = leader;
    for (let i = 0; i < REDEMPTIONS; i++) {
      if (i === Math.floor(REDEMPTIONS / 2)) {
        killed = (await cluster.pollerHolder()) ?? leader;
        await cluster.kill(killed);
      }
      const tx = await token.getFunction('transfer')(h.chain.issuerAddress, 10n ** 18n);
      const receipt = await tx.wait();
      flowIds.push(redemptionFlowId('base', receipt!.hash, receipt!.logs.find((l: any) => l.topics[0] === TRANSFER_TOPIC)!.index));
    }
    const successor = await waitFor('another instance to take the poller over', async () => {
      const holder = await cluster.pollerHolder();
      return holder && holder !== killed ? holder : undefined;
    }, 30_000, 200);
    holders.push(successor);
    // The killed instance comes back (under a new name, as a replacement would) and joins the balancer.
    await cluster.add(`${killed}-2`);

    await waitFor(`${REDEMPTIONS} completed redemptions`, async () => (await countFlows(db, 'redemption', 'completed')) === REDEMPTIONS, 240_000, 200);

    // Every flow final and completed; nothing parked for an operator.
    const flows = await db('flows').select('flow_id', 'flow_type', 'state');
    const notCompleted = flows.filter((f: any) => f.state !== 'completed');
    assert.deepEqual(notCompleted, []);
    assert.deepEqual(new Set(flows.filter((f: any) => f.flow_type === 'redemption').map((f: any) => f.flow_id)), new Set(flowIds));

    // Exactly one deposit per mint request, read from the vault's events.
    const deposits = await depositsByRequest(h.provider, h.chain.vault.vault);
    assert.equal(deposits.size, MINTS);
    assert.deepEqual(trids.filter((t) => deposits.get(t) !== 1), []);
    // Every callback for a request names its one mint transaction.
    for (const trid of trids) assert.equal(new Set(h.alpaca.callbacksFor(trid).map((c) => c.body.tx_hash)).size, 1, trid);

    // Exactly one burn per redemption transfer, from the vault's Withdraw events.
    const burns = new Map<string, Set<string>>();
    for (const log of await h.provider.getLogs({ address: h.chain.vault.vault, fromBlock: 0, toBlock: 'latest' })) {
      const w = decodeWithdrawLog(log, h.chain.vault.vault);
      if (!w) continue;
      const info = Buffer.from(w.receiptInformation.slice(2), 'hex').toString('utf8');
      const transfer = /0x[0-9a-f]{64}/.exec(info)?.[0];
      if (transfer) burns.set(transfer, (burns.get(transfer) ?? new Set()).add(w.txHash));
    }
    const transfersBurnt = flowIds.map((f) => f.split(':')[2]!);
    assert.deepEqual(transfersBurnt.filter((t) => burns.get(t)?.size !== 1), []);
    assert.equal(new Set(h.alpaca.redeems.map((r) => r.body.tx_hash)).size, REDEMPTIONS);

    // No nonce was used twice by the three signers' instances.
    const nonces = await db('chain_transactions').select('nonce');
    assert.equal(new Set(nonces.map((n: any) => Number(n.nonce))).size, nonces.length);

    // The poller failed over, and every instance served requests.
    assert.notEqual(holders[0], holders[1]);
    assert.ok([...lb.served.values()].filter((n) => n > 0).length >= 3, `served: ${JSON.stringify([...lb.served])}`);
  });
});
