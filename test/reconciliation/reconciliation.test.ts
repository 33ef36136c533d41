import { redemptionFlowId } from '../../core/flow-ids';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { Contract, Wallet } from 'ethers';
import pino from 'pino';
import { BasicAuth } from '../../alpaca/auth';
import { AlpacaClient } from '../../alpaca/client';
import type { IssuanceService } from '../../server/issuance-service';
import { providerReader, Reconciler } from '../../server/reconciliation/reconciler';
import type { ReconciliationReport } from '../../server/reconciliation/report';
import { runCli } from '../cli/fixtures';
import { type MintEnv, startMintEnv, waitForState } from '../support/mint-env';
import { startTestService } from '../support/service';
import { detect, mintThroughFlow, sendToRedemptionWallet, units } from '../support/redemption-helpers';

type Env = MintEnv & { svc: IssuanceService };

/**
 * Proof of reserves on the devnet with the fake Alpaca: the shares Alpaca holds for the issuer (moved by
 * the flows' journals and redeems) against the vault's supply and the receipt inventory.
 */
describe('reconciliation of reserves', function () {
  this.timeout(120_000);
  let env: Env;
  let logLines: string[];

  async function start(config: Partial<MintEnv['config']> = {}): Promise<void> {
    logLines = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    env = (await startMintEnv({ poller: { pollMs: 60_000 }, reconciliation: { recheckMs: 50 } }, { log: pino({ level: 'warn' }, sink), config })) as Env;
    await env.svc.poller.tick();
  }
  afterEach(() => env?.close());

  const reconcile = async (): Promise<ReconciliationReport> => {
    const res = await env.operator('GET', '/operator/reconciliation');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const aapl = (r: ReconciliationReport) => r.assets.find((a) => a.underlying_symbol === 'AAPL')!;
  const metric = async (name: string): Promise<string> => {
    const text = await (await fetch(`${env.svc.url}/metrics`, { headers: { authorization: `Bearer ${env.operatorToken}` } })).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .join('\n');
  };
  const cliEnv = () => ({ ISSUANCE_URL: env.svc.url, ISSUANCE_OPERATOR_TOKEN: env.operatorToken });

  async function redeem(amount: bigint): Promise<string> {
    const t = await sendToRedemptionWallet(env, amount);
    const receipt = await env.provider.getTransactionReceipt(t.txHash);
    const log = receipt!.logs.find((l) => l.topics[0] === '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef')!;
    const flowId = redemptionFlowId('base', t.txHash, log.index);
    await detect(env, flowId);
    return flowId;
  }

  async function requestMint(qty: string): Promise<{ trid: string; issuerRequestId: string }> {
    const trid = crypto.randomUUID();
    const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty, underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    return { trid, issuerRequestId: created.body.issuer_request_id };
  }

  it('is clean after real mints and redemptions (dust included): Alpaca, supply and inventory agree; metric 1; CLI exit 0', async () => {
    await start();
    const empty = await reconcile();
    assert.equal(empty.status, 'reconciled');
    assert.equal(aapl(empty).alpaca_shares, '0');

    await mintThroughFlow(env, '10');
    await mintThroughFlow(env, '2.5');
    assert.equal(env.alpaca.position('AAPL'), '12.5', 'the completed journals moved the shares in');
    await waitForState(env.svc, await redeem(units('4.25')), ['completed']);
    // 1 share and 123 units of dust: Alpaca redeems 1, the dust stays on chain, backed by its receipt.
    await waitForState(env.svc, await redeem(units('1') + 123n), ['completed']);
    assert.equal(env.alpaca.position('AAPL'), '7.25', 'the completed redeems moved them out');

    const report = await reconcile();
    assert.equal(report.status, 'reconciled', JSON.stringify(report, null, 2));
    assert.deepEqual(report.alerts, []);
    const a = aapl(report);
    assert.deepEqual([a.alpaca_shares, a.expected_alpaca_shares, a.drift, a.within_tolerance], ['7.25', '7.25', '0', true]);
    assert.deepEqual(a.explained_drift, { min: '0', max: '0' });
    const base = a.networks[0]!;
    assert.deepEqual([base.network, base.token_symbol, base.onchain_supply, base.receipt_inventory, base.expected_receipt_inventory, base.inventory_drift], ['base', 'tAAPL', '7.25', '7.25', '7.25', '0']);
    assert.ok(Object.values(base.in_flight!).every((v) => v.flows === 0 && v.shares === '0'));
    assert.ok(base.block_number! > 0);

    assert.match(await metric('issuance_reserve_reconciled'), /issuance_reserve_reconciled\{asset="AAPL"\} 1/);
    assert.match(await metric('issuance_reserve_drift_shares'), /issuance_reserve_drift_shares\{asset="AAPL"\} 0/);
    assert.match(await metric('issuance_reserve_inventory_drift_shares'), /\{asset="AAPL",network="base"\} 0/);
    assert.ok(!logLines.some((l) => l.includes('"kind":"reserve_drift"')));

    const cli = await runCli(['reconcile'], cliEnv());
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /AAPL .*reconciled .*7\.25 .*7\.25/);
    assert.match(cli.stdout, /^reserves reconciled \(1 asset\)$/m);
  });

  it('reports a drift at Alpaca and in the receipt inventory: alerts, metrics, a warn line, CLI exit 1', async () => {
    await start();
    await mintThroughFlow(env, '3');
    env.alpaca.skewPosition('AAPL', '-0.5'); // a journal out of the issuer's account that no flow made

    const report = await reconcile();
    assert.equal(report.status, 'drift');
    const a = aapl(report);
    assert.deepEqual([a.status, a.alpaca_shares, a.expected_alpaca_shares, a.drift, a.within_tolerance], ['drift', '2.5', '3', '-0.5', false]);
    assert.deepEqual(
      report.alerts.map((x) => [x.kind, x.underlying_symbol, x.network]),
      [['reserve_drift', 'AAPL', null]],
    );
    assert.match(report.alerts[0]!.message, /AAPL: Alpaca holds 2\.5 shares for the issuer, 3 expected .*drift -0\.5/);
    assert.match(await metric('issuance_reserve_reconciled'), /\{asset="AAPL"\} 0/);
    assert.match(await metric('issuance_reserve_drift_shares'), /\{asset="AAPL"\} -0\.5/);
    const warn = logLines.map((l) => JSON.parse(l)).find((l) => l.kind === 'reserve_drift');
    assert.ok(warn, logLines.join(''));
    assert.deepEqual([warn.level, warn.asset, warn.alpacaShares, warn.expectedShares, warn.drift], [40, 'AAPL', '2.5', '3', '-0.5']);

    const cli = await runCli(['reconcile'], cliEnv());
    assert.equal(cli.code, 1);
    assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
    assert.match(cli.stderr, /^error: reserves drift: AAPL: Alpaca holds 2\.5 shares/);
    assert.match(cli.stdout, /ALERT reserve_drift: AAPL/);
    const json = await runCli(['--json', 'reconcile'], cliEnv());
    assert.equal(json.code, 1);
    assert.equal(json.json().assets[0].drift, '-0.5');

    // Back in line at Alpaca; now the inventory is off (a view row tampered with).
    env.alpaca.skewPosition('AAPL', '0.5');
    assert.equal((await reconcile()).status, 'reconciled');
    await env.svc.db('receipt_inventory').update({ shares_remaining: units('2').toString() });
    const inventory = await reconcile();
    assert.equal(inventory.status, 'drift');
    const base = aapl(inventory).networks[0]!;
    assert.deepEqual([base.receipt_inventory, base.expected_receipt_inventory, base.inventory_drift, base.inventory_within_tolerance], ['2', '3', '-1', false]);
    assert.equal(aapl(inventory).within_tolerance, true, 'Alpaca itself agrees');
    assert.deepEqual(
      inventory.alerts.map((x) => [x.kind, x.network]),
      [['inventory_drift', 'base']],
    );
    assert.match(await metric('issuance_reserve_inventory_drift_shares'), /\{asset="AAPL",network="base"\} -1/);
    assert.ok(logLines.some((l) => l.includes('"kind":"inventory_drift"')));
  });

  it('a drift within RECONCILIATION_TOLERANCE_SHARES is reconciled; the schedule runs by itself and stops on close', async () => {
    await start({ reconciliation: { intervalMs: 150, toleranceShares: '0.000001' } });
    await mintThroughFlow(env, '1');
    env.alpaca.skewPosition('AAPL', '0.0000005');
    const skewedAt = Date.now();
    const ranSince = async (t: number) => {
      for (let i = 0; i < 100; i++) {
        const last = env.svc.reconciler.last;
        if (last && Date.parse(last.generated_at) > t) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('no scheduled reconciliation ran');
    };
    await ranSince(skewedAt);
    assert.match(await metric('issuance_reserve_reconciled'), /\{asset="AAPL"\} 1/);
    assert.match(await metric('issuance_reserve_drift_shares'), /\{asset="AAPL"\} 5e-7/);
    assert.match(await metric('issuance_reserve_reconciliation_timestamp_seconds'), / \d{10}/);
    const report = env.svc.reconciler.last!;
    assert.deepEqual([report.tolerance, aapl(report).drift, aapl(report).within_tolerance], ['0.000001', '0.0000005', true]);

    env.alpaca.skewPosition('AAPL', '0.00001');
    const drift = await ranSince(Date.now());
    assert.equal(drift.status, 'drift');
    assert.ok(logLines.some((l) => l.includes('"kind":"reserve_drift"')), 'the scheduled run logged the drift');
    await env.svc.close();
    const lastBeforeClose = env.svc.reconciler.last;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(env.svc.reconciler.last, lastBeforeClose, 'no run after close');
  });

  it('flows in flight are not drift: a mint confirmed while the node is cut off, one refused by the vault, a journal and a redeem not yet seen', async () => {
    await start();
    await mintThroughFlow(env, '5');

    // Confirmed while the node is unreachable: Alpaca has the shares, the chain not yet the tokens.
    env.rpc.down = true;
    const cutOff = await requestMint('1');
    await env.alpaca.confirmMint(cutOff.trid, cutOff.issuerRequestId, 'completed');
    await waitForState(env.svc, `mint:${cutOff.trid}`, ['minting.submitting']);
    assert.equal(env.alpaca.position('AAPL'), '6');
    // The service's own reader goes through the cut-off node: not readable is not a drift.
    const blind = await reconcile();
    assert.equal(blind.status, 'unavailable');
    assert.deepEqual([aapl(blind).status, aapl(blind).drift, blind.alerts[0]?.kind], ['unavailable', null, 'unavailable']);
    assert.doesNotMatch(JSON.stringify(blind), /127\.0\.0\.1/, 'no RPC URL in the report');
    const cli = await runCli(['reconcile'], cliEnv());
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /reserves could not be reconciled: AAPL on base: chain unavailable/);
    // Read from the node directly, the same reconciliation explains the difference by the flow in flight.
    const alpaca = new AlpacaClient({ baseUrl: env.config.alpaca!.baseUrl, accountId: env.config.alpaca!.accountId, auth: new BasicAuth(env.config.alpaca!.keyId!, env.config.alpaca!.secret!), timeoutMs: 2_000 });
    const direct = new Reconciler({
      db: env.svc.db,
      assets: () => env.svc.assets.list(),
      chains: new Map([['base', providerReader(env.provider)]]),
      positions: () => alpaca.listPositions(),
      toleranceShares: '0',
      clock: env.clock,
      log: pino({ level: 'silent' }),
      recheckMs: 0,
    });
    const inFlight = await direct.run();
    assert.equal(inFlight.status, 'reconciled', JSON.stringify(inFlight, null, 2));
    assert.deepEqual([aapl(inFlight).alpaca_shares, aapl(inFlight).networks[0]!.onchain_supply, aapl(inFlight).expected_alpaca_shares, aapl(inFlight).drift], ['6', '5', '6', '0']);
    assert.deepEqual(aapl(inFlight).networks[0]!.in_flight!.mints_awaiting_chain, { flows: 1, shares: '1' });
    env.rpc.down = false;
    await waitForState(env.svc, `mint:${cutOff.trid}`, ['completed'], 30_000);
    const done = await reconcile();
    assert.equal(done.status, 'reconciled');
    assert.deepEqual([aapl(done).networks[0]!.onchain_supply, aapl(done).networks[0]!.in_flight!.mints_awaiting_chain.flows], ['6', 0]);

    // A redemption Alpaca has completed but whose completion the flow has not polled yet.
    env.alpaca.behaviour.redeemCompletesAfterMs = 3_600_000;
    const waiting = await redeem(units('1'));
    await waitForState(env.svc, waiting, ['awaitingAlpaca.waiting']);
    const pending = aapl(await reconcile());
    assert.deepEqual([pending.status, pending.drift, pending.networks[0]!.in_flight!.redemptions_awaiting_alpaca], ['reconciled', '0', { flows: 1, shares: '1' }]);
    env.alpaca.skewPosition('AAPL', '-1'); // what its completion does at Alpaca
    const completedThere = aapl(await reconcile());
    assert.deepEqual([completedThere.status, completedThere.drift, completedThere.explained_drift], ['reconciled', '-1', { min: '-1', max: '0' }]);

    // A mint waiting for its confirm that Alpaca has journaled already (the confirm is on its way).
    await requestMint('0.25');
    env.alpaca.skewPosition('AAPL', '0.25');

    // The vault refuses a mint (owner freeze): parked in mintReverted, shares at Alpaca, no tokens.
    const owner = new Wallet(env.chain.devnet.accounts[0]!.privateKey, env.provider);
    const vault = new Contract(env.chain.vault.vault, ['function ownerFreezeUntil(uint256)'], owner);
    const block = await env.provider.getBlock('latest');
    await (await vault.getFunction('ownerFreezeUntil')(BigInt(block!.timestamp) + 3600n)).wait();
    const refused = await requestMint('2');
    await env.alpaca.confirmMint(refused.trid, refused.issuerRequestId, 'completed');
    await waitForState(env.svc, `mint:${refused.trid}`, ['mintReverted']);

    const parked = await reconcile();
    assert.equal(parked.status, 'reconciled', JSON.stringify(parked, null, 2));
    const p = aapl(parked);
    // Alpaca 6 − 1 + 0.25 + 2; the supply 6 (the redemption's tokens are still on chain) + the refused mint's 2.
    assert.deepEqual([p.alpaca_shares, p.networks[0]!.onchain_supply, p.expected_alpaca_shares, p.drift, p.explained_drift], ['7.25', '6', '8', '-0.75', { min: '-1', max: '0.25' }]);
    assert.deepEqual(p.networks[0]!.in_flight!.mints_awaiting_chain, { flows: 1, shares: '2' });
    assert.deepEqual(p.networks[0]!.in_flight!.mints_awaiting_journal, { flows: 1, shares: '0.25' });
    assert.deepEqual(p.networks[0]!.in_flight!.redemptions_awaiting_alpaca, { flows: 1, shares: '1' });
    // Beyond what the flows in flight can explain, it is a drift.
    env.alpaca.skewPosition('AAPL', '1.5');
    assert.equal((await reconcile()).status, 'drift');
  });

  it('a mint held for approval after its journal is in flight; one rejected by an operator after its journal is a drift', async () => {
    await start();
    const threshold = await env.operator('PATCH', `/operator/controls/assets/${env.assetId}`, { approval_threshold: '10' });
    assert.equal(threshold.status, 200, JSON.stringify(threshold.body));
    const held = await requestMint('20');
    await env.alpaca.confirmMint(held.trid, held.issuerRequestId, 'completed');
    await waitForState(env.svc, `mint:${held.trid}`, ['awaitingApproval.pending']);
    const waiting = aapl(await reconcile());
    assert.deepEqual([waiting.status, waiting.alpaca_shares, waiting.networks[0]!.onchain_supply, waiting.drift], ['reconciled', '20', '0', '0']);
    assert.deepEqual(waiting.networks[0]!.in_flight!.mints_awaiting_chain, { flows: 1, shares: '20' });

    const rejected = await env.operator('POST', `/operator/flows/${encodeURIComponent(`mint:${held.trid}`)}/events`, { type: 'OPERATOR_REJECT', note: 'too large' });
    assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
    const report = await reconcile();
    assert.deepEqual([report.status, aapl(report).drift], ['drift', '20']);
    assert.match(report.alerts[0]!.message, /Alpaca holds 20 shares for the issuer, 0 expected/);
  });

  it('503 when the instance reconciles nothing (no chain and Alpaca), 400 on query parameters', async () => {
    await start();
    const bad = await env.operator('GET', '/operator/reconciliation?asset=AAPL');
    assert.equal(bad.status, 400);
    const bare = await startTestService();
    try {
      const res = await bare.operator('GET', '/operator/reconciliation');
      assert.equal(res.status, 503);
      assert.equal(res.body.code, 'reconciliation_unavailable');
    } finally {
      await bare.close();
    }
  });
});
