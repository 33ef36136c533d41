import assert from 'node:assert/strict';
import { openApiDocument } from '../../server/openapi/document';
import { startTestService, type TestService } from '../support/service';

describe('GET /openapi.json', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(() => svc?.close());

  it('serves the document to a caller without credentials', async () => {
    const res = await fetch(`${svc.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await res.json(), JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('answers HEAD without a body, and refuses other methods', async () => {
    const head = await fetch(`${svc.url}/openapi.json`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const post = await fetch(`${svc.url}/openapi.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(post.status, 404);
    assert.equal(((await post.json()) as { code: string }).code, 'route_not_found');
  });
});
