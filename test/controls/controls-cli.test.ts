import assert from 'node:assert/strict';
import { operatorToken, mintInput, runCli, startMint, startOperatorService, waitForState, type CliRun } from '../cli/fixtures';
import type { TestService } from '../support/service';

/** `issuance-bot controls …` and `issuance-bot approvals …` run as child processes against a running service. */
describe('issuance-bot controls and approvals', function () {
  this.timeout(30_000);
  const tokens = { bob: operatorToken(), carol: operatorToken() };
  let svc: TestService;
  let assetId: string;
  const as = (who: 'bob' | 'carol', ...args: string[]) => runCli(args, { ISSUANCE_URL: svc.url, ISSUANCE_OPERATOR_TOKEN: tokens[who] });
  const ok = (run: CliRun) => {
    assert.equal(run.code, 0, `exit ${run.code}: ${run.stderr}`);
    return run;
  };
  const failed = (run: CliRun, code: number, pattern: RegExp) => {
    assert.equal(run.code, code, `expected exit ${code}, got ${run.code}: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr.trim(), pattern);
  };

  before(async () => {
    svc = await startOperatorService({ callbackFailures: 0 }, tokens);
    assetId = (await svc.assets.add({ underlyingSymbol: 'AAPL', tokenSymbol: 'tAAPL', network: 'base', vaultAddress: '0x' + '5a'.repeat(20), decimals: 18 })).assetId;
  });
  after(() => svc?.close());

  it('controls set / show: changes limits by token symbol, journaled under the operator; none lifts one', async () => {
    const set = ok(await as('bob', 'controls', 'set', 'tAAPL', '--max-request-qty', '500', '--daily-mint-cap', '1000.5', '--approval-threshold', '100'));
    assert.match(set.stdout, /^tAAPL on base: limits changed by bob$/m);
    assert.match(set.stdout, /daily mint cap\s+1000\.5/);
    const shown = ok(await as('carol', '--json', 'controls', 'show')).json();
    const row = shown.assets.find((a: any) => a.asset_id === assetId);
    assert.deepEqual([row.max_request_qty, row.daily_mint_cap, row.daily_redemption_cap, row.approval_threshold, row.updated_by], ['500', '1000.5', null, '100', 'bob']);

    ok(await as('carol', 'controls', 'set', assetId, '--max-request-qty', 'none'));
    const table = ok(await as('carol', 'controls', 'show')).stdout;
    assert.match(table, /issuance running/);
    assert.match(table, /tAAPL .*base .* - .*0 \/ 1000\.5.* 0 .*100 .*carol/);
    const events = await svc.db('journal').where({ flow_id: `controls:asset:${assetId}` }).orderBy('seq');
    assert.deepEqual(events.map((e: any) => JSON.parse(e.payload).operator), ['bob', 'carol']);

    failed(await as('bob', 'controls', 'set', 'tAAPL', '--daily-mint-cap', '1.0000000001'), 2, /quantity with at most 9 decimal places/);
    failed(await as('bob', 'controls', 'set', 'tAAPL'), 2, /nothing to set/);
    failed(await as('bob', 'controls', 'set', 'tNOPE', '--daily-mint-cap', '1'), 1, /no asset tNOPE/);
  });

  it('controls pause / resume: the pause shows who paused and why', async () => {
    failed(await as('bob', 'controls', 'pause'), 2, /--reason/);
    assert.match(ok(await as('bob', 'controls', 'pause', '--reason', 'incident 7')).stdout, /issuance PAUSED by bob at .* UTC: incident 7/);
    assert.match(ok(await as('carol', 'controls', 'pause', '--reason', 'again')).stdout, /^already issuance PAUSED by bob/);
    assert.match(ok(await as('carol', 'controls', 'show')).stdout, /PAUSED by bob .*incident 7/);
    assert.match(ok(await as('carol', 'controls', 'resume', '--note', 'all clear')).stdout, /issuance resumed by carol/);
    assert.match(ok(await as('carol', 'controls', 'resume')).stdout, /was not paused/);
  });

  it('approvals list / approve / reject: two different operators, the second approval by the first one refused', async () => {
    const held = await startMint(svc, mintInput({ tokenSymbol: 'tAAPL', underlyingSymbol: 'AAPL', assetId }));
    await svc.host.send(held, { type: 'JOURNAL_CONFIRMED', approvalThreshold: '1' });
    const rejected = await startMint(svc, mintInput({ tokenSymbol: 'tAAPL', underlyingSymbol: 'AAPL', assetId }));
    await svc.host.send(rejected, { type: 'JOURNAL_CONFIRMED', approvalThreshold: '1' });

    const listed = ok(await as('bob', '--json', 'approvals', 'list')).json();
    assert.deepEqual(listed.flows.map((f: any) => f.flow_id).sort(), [held, rejected].sort());

    assert.match(ok(await as('bob', 'approvals', 'approve', held)).stdout, /endorsed by bob; a different operator must approve it too/);
    failed(await as('bob', 'approvals', 'approve', held), 1, /^error: 409 same_operator_cannot_approve: bob already approved this mint/);
    assert.match(ok(await as('carol', 'approvals', 'approve', held, '--note', 'checked')).stdout, /approved; now minting\.submitting/);
    await waitForState(svc, held, 'completed');

    assert.match(ok(await as('carol', 'approvals', 'reject', rejected, '--note', 'over exposure')).stdout, /rejected; nothing will be minted/);
    assert.equal((await svc.host.require(rejected)).state, 'rejectedByOperator');
    assert.match(ok(await as('bob', 'approvals', 'list')).stdout, /^0 mints waiting for approval$/m);
  });
});
