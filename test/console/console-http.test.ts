import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pino from 'pino';
import { FlowHost } from '../../runtime/flow-host';
import { errorHandler } from '../../server/error-handler';
import { JournalTail } from '../../server/live/journal-tail';
import { consoleOperatorRoutes } from '../../server/routes/console';
import { appendToJournal } from '../../persistence/journal';
import { type PayoutProbe, payoutModule } from '../support/payout-flow';
import { createPayoutView } from '../support/fixtures';
import { startTestService, type TestService } from '../support/service';
import { openSse } from './sse-client';

/** A request exactly as written (fetch would resolve `..` before sending it). */
function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = http.request({ host: hostname, port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = (svc: TestService) => ({ authorization: `Bearer ${svc.operatorToken}` });

describe('console: page and files (public)', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(() => svc?.close());

  it('serves the page without credentials, as HTML, with its own strict policy and revalidation', async () => {
    const res = await fetch(`${svc.url}/console`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(res.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]+"$/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "form-action 'none'"]) assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https:|\*/);
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/console\/console\.js"><\/script>/);
    // Nothing inline: every script has a src, no style element or attribute, no inline handler.
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
  });

  it('serves every file the page and its modules load, each with its content type', async () => {
    const html = await (await fetch(`${svc.url}/console`)).text();
    const wanted = new Set([...html.matchAll(/(?:src|href)="(\/console\/[^"]+)"/g)].map((m) => m[1]!));
    const seen = new Set<string>();
    const types: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
    while (wanted.size) {
      const path = [...wanted][0]!;
      wanted.delete(path);
      seen.add(path);
      const res = await fetch(`${svc.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), types[path.slice(path.lastIndexOf('.'))], path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
      const text = await res.text();
      if (path.endsWith('.js')) {
        for (const m of text.matchAll(/from '\.\/([a-z0-9-]+\.js)'/g)) if (!seen.has(`/console/${m[1]}`)) wanted.add(`/console/${m[1]}`);
      }
    }
    assert.ok(seen.size >= 10, `the page loads ${[...seen].join(', ')}`);
  });

  it('answers a conditional request with 304 and no body; HEAD with headers only', async () => {
    const first = await rawGet(svc.url, '/console/console.css');
    const again = await rawGet(svc.url, '/console/console.css', { 'if-none-match': String(first.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
    const head = await fetch(`${svc.url}/console`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(await head.text(), '');
  });

  it('serves files by exact name only: no path traversal, no other file types', async () => {
    for (const path of ['/console/../package.json', '/console/..%2fpackage.json', '/console/%2e%2e%2fpackage.json', '/console/..%5cpackage.json', '/console/%2e%2e/package.json', '/console/README.md', '/console/nope.js', '/console/.', '/console/..']) {
      const res = await rawGet(svc.url, path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /"name": "issuance-bot"|devDependencies/, path);
      assert.match(JSON.parse(res.body).code, /^(file_not_found|route_not_found)$/, path);
    }
  });

  it('keeps the data behind the operator token: the stream and the charts answer 401 without it', async () => {
    for (const path of ['/operator/stream', '/operator/charts/mint']) {
      const res = await fetch(`${svc.url}${path}`);
      assert.equal(res.status, 401, path);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="operator"/);
      assert.equal(((await res.json()) as { code: string }).code, 'missing_credentials');
      const wrong = await fetch(`${svc.url}${path}`, { headers: { authorization: 'Bearer not-the-operator-token' } });
      assert.equal(wrong.status, 401, path);
    }
  });
});

describe('console: state charts (operator)', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(() => svc?.close());

  it("serves a flow type's Graphviz chart, whose nodes are titled <type>.<state path>", async () => {
    const res = await fetch(`${svc.url}/operator/charts/mint`, { headers: bearer(svc) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    assert.equal(res.headers.get('cache-control'), 'private, no-cache');
    const svg = await res.text();
    for (const state of ['awaitingJournal', 'minting.submitting', 'minting.confirming', 'callingBack', 'completed']) {
      assert.match(svg, new RegExp(`<g id="node\\d+" class="node">\\s*<title>mint\\.${state.replace('.', '\\.')}</title>`), state);
    }
    assert.match(await (await fetch(`${svc.url}/operator/charts/redemption`, { headers: bearer(svc) })).text(), /<title>redemption\.burning\.submitting<\/title>/);
  });

  it('answers 404 for a type without a chart, and for anything that is not a type name', async () => {
    for (const type of ['payout', 'Mint', 'mint.svg', '..%2Fmint', '..%2F..%2Fpackage']) {
      const res = await fetch(`${svc.url}/operator/charts/${type}`, { headers: bearer(svc) });
      assert.equal(res.status, 404, type);
      assert.equal(((await res.json()) as { code: string }).code, 'chart_not_found', type);
    }
  });
});

describe('console: journal stream (operator)', () => {
  let svc: TestService;
  let probe: PayoutProbe;
  beforeEach(async () => {
    probe = { calls: [], failuresLeft: 0 };
    svc = await startTestService({ modules: [payoutModule(probe)] });
    await createPayoutView(svc.db);
  });
  afterEach(() => svc?.close());

  it('streams text/event-stream: ready, then each committed entry with the state after it', async () => {
    const stream = await openSse(`${svc.url}/operator/stream`, bearer(svc));
    try {
      assert.equal(stream.status, 200);
      assert.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      assert.equal(stream.headers.get('cache-control'), 'no-store');
      const ready = await stream.waitFor((e) => e.event === 'ready');
      assert.equal(typeof ready.data.position, 'number');

      await svc.host.start('payout', 'p-live', { expiresInMs: 60_000 });
      await svc.host.send('p-live', { type: 'ADD', amount: 5 });
      await svc.host.send('p-live', { type: 'PAY' }); // the runner pays, and PAYOUT_SENT ends the flow
      const paid = await stream.waitFor((e) => e.event === 'journal' && e.data.flow_id === 'p-live' && e.data.type === 'PAYOUT_SENT');
      assert.deepEqual(
        { ...paid.data, position: 0, event_id: '', recorded_at: '' },
        { position: 0, event_id: '', flow_id: 'p-live', flow_type: 'payout', seq: 4, type: 'PAYOUT_SENT', state: 'paid', status: 'done', needs_operator: false, tags: [], operator: null, recorded_at: '' },
      );
      const mine = stream.events.filter((e) => e.event === 'journal' && e.data.flow_id === 'p-live').map((e) => [e.data.seq, e.data.type, e.data.state, e.data.status]);
      assert.deepEqual(mine, [
        [1, 'flow.started', 'open', 'active'],
        [2, 'ADD', 'open', 'active'],
        [3, 'PAY', 'paying', 'active'],
        [4, 'PAYOUT_SENT', 'paid', 'done'],
      ]);
      // In commit order, each id its journal position.
      const positions = stream.events.filter((e) => e.event === 'journal').map((e) => e.data.position);
      assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
      for (const e of stream.events.filter((x) => x.event === 'journal')) assert.equal(e.id, String(e.data.position));
      assert.match(paid.data.recorded_at, /^\d{4}-\d\d-\d\dT/);
    } finally {
      stream.abort();
    }
  });

  it("carries commits this process's host never saw (another instance on the database), and registry changes with their operator", async () => {
    const stream = await openSse(`${svc.url}/operator/stream`, bearer(svc));
    try {
      await stream.waitFor((e) => e.event === 'ready');
      // A second host on the same database stands for another instance: its transitions reach the stream through the journal only.
      const other = new FlowHost(svc.db, [payoutModule(probe).definition], svc.clock);
      await other.start('payout', 'p-elsewhere', { expiresInMs: 60_000 });
      await other.send('p-elsewhere', { type: 'EXPIRED' });
      const expired = await stream.waitFor((e) => e.event === 'journal' && e.data.flow_id === 'p-elsewhere' && e.data.seq === 2);
      assert.deepEqual([expired.data.type, expired.data.state, expired.data.status], ['EXPIRED', 'expired', 'done']);

      const ap = await svc.operator('POST', '/operator/aps', { email: 'desk@ap.example', wallets: [] });
      assert.equal(ap.status, 201);
      const registered = await stream.waitFor((e) => e.event === 'journal' && e.data.flow_id === `ap:${ap.body.apId}`);
      assert.deepEqual([registered.data.flow_type, registered.data.state, registered.data.status, registered.data.needs_operator, registered.data.operator], ['ap', null, null, null, 'operator']);
    } finally {
      stream.abort();
    }
  });

  it('refuses a query parameter, and answers HEAD with the headers only', async () => {
    const bad = await fetch(`${svc.url}/operator/stream?since=0`, { headers: bearer(svc) });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'invalid_request');
    const head = await fetch(`${svc.url}/operator/stream`, { method: 'HEAD', headers: bearer(svc) });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(await head.text(), '');
  });

  it('ends when the service closes, and the graceful stop does not wait for it', async () => {
    const stream = await openSse(`${svc.url}/operator/stream`, bearer(svc));
    await stream.waitFor((e) => e.event === 'ready');
    const started = Date.now();
    await svc.close();
    const closedIn = Date.now() - started;
    await stream.ended;
    assert.ok(closedIn < 2_000, `the service closed in ${closedIn} ms with a stream open`);
  });
});

describe('console: stream resources', () => {
  let svc: TestService;
  let tail: JournalTail;
  let server: http.Server;
  let url: string;

  before(async () => {
    svc = await startTestService({ autoRun: false });
    tail = new JournalTail(svc.db, () => svc.host.allDefinitions(), { pollMs: 50, gapGraceMs: 2_000 });
    // The stream routes on their own, with short heartbeats and one stream per operator.
    const app = new Koa();
    app.use(errorHandler(pino({ level: 'silent' })));
    app.use(async (ctx, next) => {
      ctx.state.operator = { id: ctx.get('x-operator') || 'alice' };
      await next();
    });
    app.use(consoleOperatorRoutes({ db: svc.db, host: svc.host }, { tail, heartbeatMs: 100, maxStreamsPerOperator: 1, maxStreams: 2 }).routes());
    server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  // A stream the previous test aborted is released when its socket closes, a moment later.
  beforeEach(async () => {
    for (let i = 0; i < 100 && tail.subscribers > 0; i++) await new Promise((r) => setTimeout(r, 20));
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await svc?.close();
  });

  it('sends a heartbeat comment after each quiet interval', async () => {
    const stream = await openSse(`${url}/operator/stream`);
    try {
      await stream.waitFor((e) => e.event === 'ready');
      await stream.waitFor((e) => e.comment === 'heartbeat', 1_000);
    } finally {
      stream.abort();
    }
  });

  it('limits open streams per operator and in all (429), and frees the slot and the poll when the client goes', async () => {
    const first = await openSse(`${url}/operator/stream`);
    await first.waitFor((e) => e.event === 'ready');
    assert.equal(tail.subscribers, 1);
    const second = await fetch(`${url}/operator/stream`);
    assert.equal(second.status, 429);
    assert.equal(((await second.json()) as { code: string }).code, 'too_many_streams');
    const bob = await openSse(`${url}/operator/stream`, { 'x-operator': 'bob' });
    await bob.waitFor((e) => e.event === 'ready');
    const carol = await fetch(`${url}/operator/stream`, { headers: { 'x-operator': 'carol' } });
    assert.equal(carol.status, 429, 'two streams in all');
    await carol.body?.cancel();

    first.abort();
    bob.abort();
    for (let i = 0; i < 100 && (tail.subscribers > 0 || tail.polling); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(tail.subscribers, 0);
    assert.equal(tail.polling, false, 'no poll runs with nobody listening');
    const again = await openSse(`${url}/operator/stream`);
    await again.waitFor((e) => e.event === 'ready');
    again.abort();
  });

  it('delivers a row that commits below the head later (a PostgreSQL sequence hole), once, within the grace', async () => {
    const stream = await openSse(`${url}/operator/stream`, { 'x-operator': 'dave' });
    try {
      const ready = await stream.waitFor((e) => e.event === 'ready');
      const append = async (id: string, moveTo?: number) => {
        await svc.db.transaction(async (trx) => {
          const entry = await appendToJournal(trx, { flowId: `test:${id}`, flowType: 'test', seq: 1, type: 'test.happened', payload: {}, recordedAt: new Date().toISOString(), machineVersion: 'test@1' });
          if (moveTo !== undefined) await trx('journal').where({ event_id: entry.eventId }).update({ position: moveTo });
        });
      };
      const base = Number(ready.data.position) + 100;
      await append('high', base + 1_000);
      await stream.waitFor((e) => e.event === 'journal' && e.data.flow_id === 'test:high');
      // Committed after the row above it was delivered: the tail goes back for it.
      await append('late', base + 500);
      await stream.waitFor((e) => e.event === 'journal' && e.data.flow_id === 'test:late');
      await append('next');
      await stream.waitFor((e) => e.event === 'journal' && e.data.flow_id === 'test:next');
      await new Promise((r) => setTimeout(r, 200));
      const ids = stream.events.filter((e) => e.event === 'journal').map((e) => e.data.flow_id);
      assert.deepEqual(ids, ['test:high', 'test:late', 'test:next']);
    } finally {
      stream.abort();
    }
  });
});
