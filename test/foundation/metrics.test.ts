import assert from 'node:assert/strict';
import { payoutModule } from '../support/payout-flow';
import { createPayoutView } from '../support/fixtures';
import { startTestService } from '../support/service';

describe('operator metrics (Prometheus)', () => {
  it('reports flows by state, outbox effects and request durations, to operators only', async () => {
    const svc = await startTestService({ modules: [payoutModule({ calls: [], failuresLeft: 0 })], autoRun: false });
    try {
      await createPayoutView(svc.db);
      await svc.host.start('payout', 'm-1', { expiresInMs: 60_000 });
      await svc.host.start('payout', 'm-2', { expiresInMs: 60_000 });
      await svc.host.send('m-2', { type: 'ADD', amount: 1 });
      await svc.host.send('m-2', { type: 'PAY' });
      await svc.alpaca('GET', '/tokenization/tokens');
      const unauthorized = await fetch(`${svc.url}/operator/metrics`);
      assert.equal(unauthorized.status, 401);
      const res = await fetch(`${svc.url}/operator/metrics`, { headers: { authorization: `Bearer ${svc.operatorToken}` } });
      const text = await res.text();
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      assert.match(text, /issuance_flows\{type="payout",state="open",needs_operator="false"\} 1/);
      assert.match(text, /issuance_flows\{type="payout",state="paying",needs_operator="false"\} 1/);
      assert.match(text, /issuance_outbox_depth\{type="sendPayout",status="pending"\} 1/);
      assert.match(text, /issuance_timers_pending 1/);
      assert.match(text, /issuance_http_request_duration_seconds_count\{method="GET",route="\/tokenization\/tokens",status="200"\} 1/);
      assert.ok(!text.includes(svc.apiKey));
    } finally {
      await svc.close();
    }
  });
});
