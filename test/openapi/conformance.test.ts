import assert from 'node:assert/strict';
import { openApiDocument } from '../../server/openapi/document';
import { ApiConformance, apiConformance } from '../support/api-conformance';
import { startTestService } from '../support/service';

const created = { issuer_request_id: '6b7aa550-de9b-49c9-bdfa-71d598100000', status: 'created' };
const json = 'application/json';

describe('API conformance checker', () => {
  let checker: ApiConformance;
  beforeEach(() => {
    checker = new ApiConformance(openApiDocument());
  });

  it('passes a documented answer, at the route pattern the router reports', () => {
    assert.equal(checker.record({ method: 'POST', route: '/tokenization/mint', status: 200, contentType: json, body: created }), undefined);
    assert.equal(checker.record({ method: 'POST', route: '/operator/flows/:flowId/events', status: 404, contentType: json, body: { code: 'flow_not_found', message: 'No flow x' } }), undefined);
    assert.equal(checker.checked, 2);
    assert.equal(checker.verdict(), undefined);
  });

  it('flags an undocumented field, a missing field and a wrong type', () => {
    assert.match(checker.record({ method: 'POST', route: '/tokenization/mint', status: 200, contentType: json, body: { ...created, fee: '0' } })!.problem, /additional properties.*fee/);
    assert.match(checker.record({ method: 'POST', route: '/tokenization/mint', status: 200, contentType: json, body: { status: 'created' } })!.problem, /issuer_request_id/);
    assert.match(checker.record({ method: 'GET', route: '/operator/assets', status: 200, contentType: json, body: { assets: [{ asset_id: 1 }] } })!.problem, /does not match/);
  });

  it('flags an error code the operation does not list, and a mint rejection without its documented reason string', () => {
    assert.ok(checker.record({ method: 'POST', route: '/tokenization/mint', status: 409, contentType: json, body: { code: 'journal_already_recorded', message: 'x' } }));
    assert.ok(checker.record({ method: 'POST', route: '/tokenization/mint', status: 400, contentType: json, body: { code: 'wallet_not_registered', message: 'Wallet unknown' } }));
    assert.equal(checker.record({ method: 'POST', route: '/tokenization/mint', status: 400, contentType: json, body: { code: 'wallet_not_registered', message: 'Invalid Wallet: Wallet does not belong to client' } }), undefined);
  });

  it('flags an undocumented status, route, method or content type', () => {
    assert.match(checker.record({ method: 'GET', route: '/tokenization/tokens', status: 418, contentType: json, body: { code: 'teapot', message: 'x' } })!.problem, /status 418 is not documented/);
    assert.match(checker.record({ method: 'GET', route: '/operator/secrets', status: 200, contentType: json, body: {} })!.problem, /not in the document/);
    assert.match(checker.record({ method: 'DELETE', route: '/operator/aps', status: 200, contentType: json, body: {} })!.problem, /DELETE \/operator\/aps is not in the document/);
    assert.match(checker.record({ method: 'GET', route: '/health/live', status: 200, contentType: 'text/html', body: '<p>ok</p>' })!.problem, /content type text\/html/);
  });

  it('checks HEAD against the GET operation', () => {
    assert.equal(checker.record({ method: 'HEAD', route: '/health/live', status: 200, contentType: json, body: { status: 'ok', mode: 'sandbox' } }), undefined);
    assert.ok(checker.record({ method: 'HEAD', route: '/health/live', status: 200, contentType: json, body: { status: 'fine' } }));
  });

  it('checks answers no route took against the no-route error shape', () => {
    assert.equal(checker.record({ method: 'GET', status: 404, contentType: json, body: { code: 'route_not_found', message: 'No route for GET /x' } }), undefined);
    assert.equal(checker.record({ method: 'OPTIONS', status: 200, contentType: '', body: '' }), undefined);
    assert.match(checker.record({ method: 'GET', status: 200, contentType: json, body: {} })!.problem, /no-route answer/);
    assert.ok(checker.record({ method: 'GET', status: 404, contentType: json, body: { error: 'not found' } }));
  });

  it('fails the run when a service ran with the observer but nothing was checked, and lists violations', () => {
    checker.observer();
    assert.match(checker.verdict()!, /no response was checked/);
    checker.record({ method: 'GET', route: '/health/live', status: 200, contentType: json, body: { status: 'ok' } });
    const verdict = checker.verdict()!;
    assert.match(verdict, /1 of 1 responses do not match/);
    assert.match(verdict, /GET \/health\/live → 200/);
    assert.match(checker.summary(), /1 responses from 1 service/);
  });

  it('sees the responses of the test services (the suite-wide check is wired in)', async () => {
    const before = { checked: apiConformance.checked, violations: apiConformance.violations.length, live: apiConformance.exercised.get('getLiveness') ?? 0 };
    const svc = await startTestService();
    try {
      assert.equal((await fetch(`${svc.url}/health/live`)).status, 200);
      assert.equal((await svc.alpaca('GET', '/tokenization/tokens', undefined, 'none')).status, 401);
      assert.equal((await svc.operator('GET', '/operator/nowhere')).status, 404);
    } finally {
      await svc.close();
    }
    assert.equal(apiConformance.checked - before.checked, 3);
    assert.equal((apiConformance.exercised.get('getLiveness') ?? 0) - before.live, 1);
    assert.deepEqual(apiConformance.violations.slice(before.violations), []);
  });
});
