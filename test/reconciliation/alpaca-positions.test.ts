import assert from 'node:assert/strict';
import { alpacaError, confirmedMint, redeemBody, type Rig, startRig } from '../alpaca/helpers';

/** The issuer account's positions: the client's one-attempt calls, and the fake moving them with the flows. */
describe('Alpaca positions (client ↔ fake, real HTTP)', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig?.close());

  it('a completed journal moves shares in, once; a rejected one moves nothing', async () => {
    assert.deepEqual(await rig.client.listPositions(), []);
    assert.equal(await rig.client.getPosition('AAPL'), null, '404: no open position');
    const { tokenizationRequestId, issuerRequestId } = await confirmedMint(rig.fake, { qty: '1.5' });
    await rig.fake.confirmMint(tokenizationRequestId, issuerRequestId, 'completed'); // Alpaca retrying its confirm
    const rejected = await rig.fake.requestMint({ qty: '7', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: '0x' + 'ab'.repeat(20), client_external_account_id: 'EXT-1' });
    await rig.fake.confirmMint(rejected.tokenization_request_id, rejected.body.issuer_request_id, 'rejected');

    const positions = await rig.client.listPositions();
    assert.deepEqual(positions.map((p) => [p.symbol, p.qty, p.side]), [['AAPL', '1.5', 'long']]);
    assert.equal((await rig.client.getPosition('AAPL'))?.qty, '1.5');
    assert.equal(rig.fake.position('AAPL'), '1.5');
  });

  it('a redeem moves shares out when it completes, not while it is pending or if it is rejected', async () => {
    await confirmedMint(rig.fake, { qty: '5' });
    rig.fake.behaviour.redeemCompletesAfterMs = 200;
    await rig.client.redeem(redeemBody({ qty: '2' }), { idempotencyKey: 'k-1' });
    assert.equal((await rig.client.getPosition('AAPL'))?.qty, '5', 'pending: still held');
    await new Promise((r) => setTimeout(r, 250));
    assert.equal((await rig.client.getPosition('AAPL'))?.qty, '3');
    rig.fake.behaviour.redeemCompletesAfterMs = 0;
    rig.fake.behaviour.redeemOutcome = 'rejected';
    await rig.client.redeem(redeemBody({ qty: '1' }), { idempotencyKey: 'k-2' });
    assert.equal((await rig.client.getPosition('AAPL'))?.qty, '3');
  });

  it('test controls set or skew a position; the flows keep moving it from there', async () => {
    rig.fake.setPosition('MSFT', '10');
    rig.fake.skewPosition('MSFT', '-0.25');
    await confirmedMint(rig.fake, { qty: '1', underlying_symbol: 'MSFT', token_symbol: 'tMSFT' });
    assert.equal((await rig.client.getPosition('MSFT'))?.qty, '10.75');
    rig.fake.setPosition('MSFT', '0');
    assert.equal(await rig.client.getPosition('MSFT'), null);
    const control = await fetch(`${rig.fake.url}/_fake/positions`, { method: 'POST', body: JSON.stringify({ symbol: 'TSLA', qty: '2' }) });
    assert.equal(control.status, 200);
    assert.deepEqual((await rig.client.listPositions()).map((p) => p.symbol), ['TSLA']);
  });

  it('one attempt per call: injected failures and another account are errors the caller classifies', async () => {
    rig.fake.behaviour.failNext('positions', 1, 503);
    const unavailable = await alpacaError(rig.client.listPositions());
    assert.deepEqual([unavailable.status, unavailable.retryable], [503, true]);
    assert.deepEqual(await rig.client.listPositions(), []);
    const other = rig.clientWith({ accountId: '00000000-0000-4000-8000-000000000000' });
    assert.equal((await alpacaError(other.listPositions())).status, 403);
    const badCredentials = rig.clientWith({ auth: { headers: async () => ({ authorization: 'Basic eDp5' }) } });
    assert.equal((await alpacaError(badCredentials.getPosition('AAPL'))).status, 401);
  });
});
