import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readJson } from '../../persistence/database';
import { checkViews, rebuildViews } from '../../persistence/replay';
import { FLOW_DEFINITIONS } from '../../server/flows/definitions';
import type { TestService } from '../support/service';
import { asOperator, mintBody, newOperators, startMintAcceptance, writes } from './helpers';

const DAY_MS = 86_400_000;

/** Per-asset limits met at accept time, through the real HTTP endpoints (Alpaca's and the operators'). */
describe('risk controls: per-request maximum and daily mint cap', function () {
  this.timeout(30_000);
  const ops = newOperators();
  let svc: TestService & { apId: string; wallet: string };
  let assets = 0;

  before(async () => {
    svc = await startMintAcceptance(ops);
  });
  after(() => svc?.close());

  const asAlice = (method: string, path: string, body?: unknown) => asOperator(svc.url, ops.alice, method, path, body);
  const asBob = (method: string, path: string, body?: unknown) => asOperator(svc.url, ops.bob, method, path, body);

  /** Caps are per asset: each test has an asset of its own. */
  async function newAsset() {
    assets++;
    const a = await svc.assets.add({ underlyingSymbol: `LIM${assets}`, tokenSymbol: `tLIM${assets}`, network: 'base', vaultAddress: `0x${crypto.randomBytes(20).toString('hex')}`, decimals: 18 });
    return { id: a.assetId, token: { underlying: a.underlyingSymbol, token: a.tokenSymbol } };
  }
  type Asset = Awaited<ReturnType<typeof newAsset>>;
  const request = (asset: Asset, qty: string, id?: string) => svc.alpaca('POST', '/tokenization/mint', mintBody(svc, asset.token, qty, id));
  const limits = (asset: Asset, body: Record<string, string | null>) => asAlice('PATCH', `/operator/controls/assets/${asset.id}`, body);
  const controlsOf = async (asset: Asset) => ((await asAlice('GET', '/operator/controls')).body.assets as any[]).find((a) => a.asset_id === asset.id);
  const controlEvents = async (flowId: string) => (await svc.db('journal').where({ flow_id: flowId }).orderBy('seq')).map((r: any) => ({ type: r.type, ...readJson<Record<string, unknown>>(r.payload) }));

  it('refuses a request above the per-request maximum with quantity_above_limit, writing nothing', async () => {
    const asset = await newAsset();
    const set = await asAlice('PUT', `/operator/controls/assets/${asset.id}`, { max_request_qty: '10', daily_mint_cap: null, daily_redemption_cap: null, approval_threshold: null });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual([set.body.changed, set.body.asset.max_request_qty, set.body.asset.updated_by], [true, '10', 'alice']);

    const before = await writes(svc.db);
    const id = crypto.randomUUID();
    const refused = await request(asset, '10.000000001', id);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'quantity_above_limit');
    assert.match(refused.body.message, /^Quantity Above Limit: 10\.000000001 is above the maximum of 10 LIM\d+ per mint request$/);
    const seeds = await svc.alpaca('POST', '/inkind/issuance', mintBody(svc, asset.token, '11'));
    assert.deepEqual([seeds.status, seeds.body.code], [400, 'quantity_above_limit'], "the seeds' path is held to the same limit");
    assert.deepEqual(await writes(svc.db), before, 'a refused request writes nothing');
    assert.equal(await svc.host.get(`mint:${id}`), undefined);

    assert.equal((await request(asset, '10')).status, 200, 'at the maximum is allowed');
    // The refused id is free: nothing of it was kept.
    assert.equal((await limits(asset, { max_request_qty: null })).body.asset.max_request_qty, null);
    assert.equal((await request(asset, '10.000000001', id)).status, 200, 'without a maximum the same request is accepted');
  });

  it("refuses a request that would take the UTC day's accepted mints over the daily cap; rejected mints do not count", async () => {
    const asset = await newAsset();
    assert.equal((await limits(asset, { daily_mint_cap: '5' })).status, 200);
    const first = mintBody(svc, asset.token, '2');
    const accepted = await svc.alpaca('POST', '/tokenization/mint', first);
    assert.equal(accepted.status, 200);
    assert.equal((await request(asset, '2')).status, 200);

    const before = await writes(svc.db);
    const over = await request(asset, '1.5');
    assert.deepEqual([over.status, over.body.code], [400, 'daily_mint_cap_exceeded']);
    assert.match(over.body.message, /^Daily Mint Cap Exceeded: 1\.5 would exceed the daily mint cap of 5 LIM\d+ for \d{4}-\d\d-\d\d \(UTC\); 1 left$/);
    assert.deepEqual(await writes(svc.db), before, 'a refused request writes nothing');
    assert.equal((await request(asset, '1')).status, 200, 'up to the cap exactly');
    assert.deepEqual([(await request(asset, '0.000000001')).body.code], ['daily_mint_cap_exceeded']);
    assert.equal((await controlsOf(asset)).minted_today, '5');

    // Alpaca rejects the first journal: its 2 no longer count.
    const rejected = await svc.alpaca('POST', '/tokenization/mint/confirm', { tokenization_request_id: first.tokenization_request_id, issuer_request_id: accepted.body.issuer_request_id, status: 'rejected' });
    assert.equal(rejected.status, 200);
    assert.equal((await controlsOf(asset)).minted_today, '3');
    assert.equal((await request(asset, '2')).status, 200);
    assert.equal((await request(asset, '0.1')).body.code, 'daily_mint_cap_exceeded');
  });

  it('lets concurrent requests take the cap exactly once between them', async () => {
    const asset = await newAsset();
    await limits(asset, { daily_mint_cap: '5' });
    const answers = await Promise.all(Array.from({ length: 12 }, () => request(asset, '1')));
    const statuses = answers.map((a) => (a.status === 200 ? 'accepted' : a.body.code)).sort();
    assert.deepEqual(statuses, [...Array(5).fill('accepted'), ...Array(7).fill('daily_mint_cap_exceeded')].sort());
    assert.equal((await svc.db('mint_view').where({ token_symbol: asset.token.token })).length, 5);
  });

  it('starts a new daily count at 00:00 UTC (service clock)', async () => {
    const asset = await newAsset();
    await limits(asset, { daily_mint_cap: '3' });
    // Two seconds before the next UTC midnight.
    const now = svc.testClock.now();
    svc.testClock.advance(Math.ceil((now + 1) / DAY_MS) * DAY_MS - now - 2_000);
    const today = new Date(svc.testClock.now()).toISOString().slice(0, 10);
    assert.equal((await request(asset, '3')).status, 200);
    assert.equal((await request(asset, '1')).body.code, 'daily_mint_cap_exceeded');
    assert.deepEqual([(await asAlice('GET', '/operator/controls')).body.day, (await controlsOf(asset)).minted_today], [today, '3']);

    svc.testClock.advance(2_001);
    const tomorrow = new Date(svc.testClock.now()).toISOString().slice(0, 10);
    assert.notEqual(tomorrow, today);
    assert.deepEqual([(await asAlice('GET', '/operator/controls')).body.day, (await controlsOf(asset)).minted_today], [tomorrow, '0']);
    assert.equal((await request(asset, '3')).status, 200, 'a new day, a new cap');
    assert.equal((await request(asset, '0.5')).body.code, 'daily_mint_cap_exceeded');
    const days = (await svc.db('mint_view').where({ token_symbol: asset.token.token }).orderBy('created_at')).map((r: any) => r.created_at.slice(0, 10));
    assert.deepEqual(days, [today, tomorrow]);
  });

  it('journals every limit change with its operator and the values before; an unchanged one writes nothing; the view rebuilds', async () => {
    const asset = await newAsset();
    const entity = `controls:asset:${asset.id}`;
    assert.equal((await asAlice('PUT', `/operator/controls/assets/${asset.id}`, { max_request_qty: '100', daily_mint_cap: '1000', daily_redemption_cap: '500', approval_threshold: '50' })).status, 200);
    const same = await asBob('PUT', `/operator/controls/assets/${asset.id}`, { max_request_qty: '100', daily_mint_cap: '1000', daily_redemption_cap: '500', approval_threshold: '50' });
    assert.deepEqual([same.status, same.body.changed, same.body.asset.updated_by], [200, false, 'alice']);
    const changed = await asBob('PATCH', `/operator/controls/assets/${asset.id}`, { daily_mint_cap: '2000.5', approval_threshold: null });
    assert.deepEqual([changed.body.changed, changed.body.asset.daily_mint_cap, changed.body.asset.approval_threshold, changed.body.asset.updated_by], [true, '2000.5', null, 'bob']);

    assert.deepEqual(await controlEvents(entity), [
      {
        type: 'controls.limits_set',
        assetId: asset.id,
        changes: { maxRequestQty: '100', dailyMintCap: '1000', dailyRedemptionCap: '500', approvalThreshold: '50' },
        previous: { maxRequestQty: null, dailyMintCap: null, dailyRedemptionCap: null, approvalThreshold: null },
        operator: 'alice',
      },
      { type: 'controls.limits_set', assetId: asset.id, changes: { dailyMintCap: '2000.5', approvalThreshold: null }, previous: { dailyMintCap: '1000', approvalThreshold: '50' }, operator: 'bob' },
    ]);

    // risk_controls is a projection of those events: a rebuild gives the same rows, and restores lost ones.
    assert.deepEqual((await checkViews(svc.db, FLOW_DEFINITIONS)).differing, []);
    const shown = await controlsOf(asset);
    await svc.db('risk_controls').delete();
    assert.equal((await controlsOf(asset)).daily_mint_cap, null);
    await rebuildViews(svc.db, FLOW_DEFINITIONS);
    assert.deepEqual(await controlsOf(asset), shown);
  });

  it('refuses malformed limits and unknown assets with stable codes, journaling nothing', async () => {
    const asset = await newAsset();
    const before = await writes(svc.db);
    const bad: Array<[string, string, unknown, number, string]> = [
      ['PUT', asset.id, { max_request_qty: '1' }, 400, 'invalid_request'], // PUT needs every limit
      ['PATCH', asset.id, {}, 400, 'invalid_request'],
      ['PATCH', asset.id, { max_request_qty: '1.0000000001' }, 400, 'invalid_request'],
      ['PATCH', asset.id, { daily_mint_cap: '-1' }, 400, 'invalid_request'],
      ['PATCH', asset.id, { daily_mint_cap: 5 }, 400, 'invalid_request'],
      ['PATCH', asset.id, { paused: true }, 400, 'invalid_request'],
      ['PATCH', 'no-such-asset', { daily_mint_cap: '5' }, 404, 'asset_not_found'],
    ];
    for (const [method, id, body, status, code] of bad) {
      const res = await asAlice(method, `/operator/controls/assets/${id}`, body);
      assert.deepEqual([res.status, res.body.code], [status, code], `${method} ${JSON.stringify(body)}`);
    }
    assert.deepEqual([(await asAlice('POST', '/operator/controls/pause', {})).status, (await asAlice('POST', '/operator/controls/pause', { reason: '' })).status], [400, 400]);
    assert.deepEqual(await writes(svc.db), before);
    assert.equal((await controlsOf(asset)).updated_by, null);
  });
});
