import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { exportJournal } from '../../persistence/audit/export';
import { verifyExport } from '../../persistence/audit/verify-export';
import { runCli } from '../cli/fixtures';
import { count, createPayoutView } from '../support/fixtures';
import { type PayoutProbe, payoutModule } from '../support/payout-flow';
import { startTestService, tempDir, type TestService } from '../support/service';

/**
 * The audit export: the journal for a time range or one flow, as JSON lines or CSV, chained line to
 * line; verified on its own, and failing on any line edited, removed or moved.
 */
describe('audit export', function () {
  this.timeout(60_000);
  let svc: TestService;
  let dir: string;
  let middle: string;

  before(async () => {
    const probe: PayoutProbe = { calls: [], failuresLeft: 0 };
    svc = await startTestService({ modules: [payoutModule(probe)], autoRun: false });
    await createPayoutView(svc.db);
    dir = tempDir('issuance-audit-');
    await svc.host.start('payout', 'e-1', { expiresInMs: 60_000 });
    await svc.host.send('e-1', { type: 'ADD', amount: 1 });
    svc.testClock.advance(60_000);
    middle = new Date(svc.testClock.now()).toISOString();
    await svc.host.start('payout', 'e-2', { expiresInMs: 60_000 });
    // A payload with text a CSV must quote: commas, quotes, a line break, non-ASCII.
    await svc.host.send('e-2', { type: 'ADD', amount: 2, note: 'a "quoted", multi\nline note — ünïcode' } as any);
    await svc.host.send('e-1', { type: 'ADD', amount: 3 });
    await svc.assets.add({ underlyingSymbol: 'AAPL', tokenSymbol: 'tAAPL', network: 'base', vaultAddress: '0x' + '5a'.repeat(20), decimals: 18 });
  });
  after(() => svc?.close());

  async function download(query: string): Promise<{ status: number; text: string; type: string | null }> {
    const res = await fetch(`${svc.url}/operator/audit/export${query}`, { headers: { authorization: `Bearer ${svc.operatorToken}` } });
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
  }

  const lines = (text: string) => text.split('\n').filter((l) => l !== '');

  it('exports the whole journal as JSON lines that verify, with the same final hash as the CSV export', async () => {
    const jsonl = await download('');
    assert.equal(jsonl.status, 200);
    assert.match(jsonl.type!, /^application\/x-ndjson/);
    const records = lines(jsonl.text).map((l) => JSON.parse(l));
    assert.equal(records[0].record, 'header');
    assert.equal(records.at(-1).record, 'end');
    assert.equal(records.at(-1).events, await count(svc.db, 'journal'));
    const result = await verifyExport([jsonl.text]);
    assert.deepEqual(result.problems, []);
    assert.equal(result.events, await count(svc.db, 'journal'));

    const csv = await download('?format=csv');
    assert.equal(csv.status, 200);
    assert.match(csv.type!, /^text\/csv/);
    const csvResult = await verifyExport([csv.text]);
    assert.deepEqual(csvResult.problems, []);
    assert.equal(csvResult.format, 'csv');
    assert.equal(csvResult.events, result.events);
    // Same records, same chain, whatever the format (two downloads differ in generated_at only).
    const at = new Date().toISOString();
    const finals: Array<string | null> = [];
    for (const format of ['jsonl', 'csv'] as const) {
      const made = exportJournal(svc.db, {}, format, at);
      const text: string[] = [];
      for await (const line of made.lines) text.push(line);
      finals.push(made.summary.finalHash);
      assert.equal((await verifyExport(text)).finalHash, made.summary.finalHash);
    }
    assert.equal(finals[0], finals[1]);
  });

  it('reads a file given in small pieces the same as whole (a CSV cell spanning chunks and lines)', async () => {
    const csv = (await download('?format=csv')).text;
    const pieces = csv.match(/[\s\S]{1,7}/g)!;
    const whole = await verifyExport([csv]);
    const chunked = await verifyExport(pieces);
    assert.deepEqual(chunked, whole);
    assert.equal(chunked.ok, true);
  });

  it('exports one flow, or a time range', async () => {
    const flow = lines((await download('?flow=e-1')).text).map((l) => JSON.parse(l));
    assert.deepEqual(
      flow.filter((r) => r.record === 'event').map((r) => [r.flow_id, r.seq]),
      [
        ['e-1', 1],
        ['e-1', 2],
        ['e-1', 3],
      ],
    );
    assert.deepEqual(flow[0].filter, { from: null, to: null, flow: 'e-1' });
    assert.equal((await verifyExport(lines((await download('?flow=e-1')).text).map((l) => `${l}\n`))).ok, true);

    const before = lines((await download(`?to=${encodeURIComponent(middle)}`)).text).map((l) => JSON.parse(l)).filter((r) => r.record === 'event');
    const since = lines((await download(`?from=${encodeURIComponent(middle)}`)).text).map((l) => JSON.parse(l)).filter((r) => r.record === 'event');
    assert.ok(before.every((r) => r.recorded_at < middle) && since.every((r) => r.recorded_at >= middle));
    assert.equal(before.length + since.length, await count(svc.db, 'journal'));
    assert.deepEqual(
      before.map((r) => `${r.flow_id}#${r.seq}`),
      ['e-1#1', 'e-1#2'],
    );
    // A range that starts inside a flow still verifies: its first event there links to one outside the file.
    assert.equal((await verifyExport([(await download(`?from=${encodeURIComponent(middle)}`)).text])).ok, true);
  });

  it('refuses unknown parameters, a bad format and a range that ends before it starts', async () => {
    for (const q of ['?flows=e-1', '?format=xml', `?from=${encodeURIComponent(middle)}&to=${encodeURIComponent(middle)}`, '?from=yesterday']) {
      const res = await svc.operator('GET', `/operator/audit/export${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.code, 'invalid_request');
    }
  });

  it('fails on an edited line, a removed line, two lines swapped, a cut-off file, and an edited CSV cell, naming the line', async () => {
    const text = (await download('')).text;
    const original = lines(text);
    const check = async (changed: string[]) => verifyExport([changed.join('\n') + '\n']);

    const edited = [...original];
    const third = JSON.parse(edited[2]!);
    third.payload.amount = 500;
    edited[2] = JSON.stringify(third);
    const e = await check(edited);
    assert.equal(e.ok, false);
    assert.ok(e.problems.some((p) => p.line === 3 && /line hash does not match/.test(p.problem)), JSON.stringify(e.problems));
    assert.ok(e.problems.some((p) => p.line === 3 && /does not match its hash/.test(p.problem)), JSON.stringify(e.problems));

    const removed = original.filter((_, i) => i !== 2);
    const r = await check(removed);
    assert.equal(r.ok, false);
    assert.ok(r.problems.some((p) => p.line === 3 && /line hash does not match/.test(p.problem)), JSON.stringify(r.problems));
    assert.ok(r.problems.some((p) => /end record counts/.test(p.problem)), JSON.stringify(r.problems));

    const swapped = [...original];
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    const s = await check(swapped);
    assert.equal(s.ok, false);
    const flagged = s.problems.filter((p) => /line hash/.test(p.problem)).map((p) => p.line);
    assert.ok(flagged.includes(3) && flagged.includes(4) && !flagged.includes(2), JSON.stringify(s.problems));

    const cut = await check(original.slice(0, -1));
    assert.equal(cut.ok, false);
    assert.ok(cut.problems.some((p) => /no end record/.test(p.problem)));

    const csv = (await download('?format=csv')).text;
    const csvChanged = csv.replace('"payout@1"', '"payout@2"');
    assert.notEqual(csvChanged, csv);
    const c = await verifyExport([csvChanged]);
    assert.equal(c.ok, false);
    assert.ok(c.problems.some((p) => p.line === 3 && /line hash does not match/.test(p.problem)), JSON.stringify(c.problems));
  });

  it('issuance-bot audit export writes a file and prints its final hash; audit verify --file passes it, and fails on an edited copy', async () => {
    const env = { ISSUANCE_URL: svc.url, ISSUANCE_OPERATOR_TOKEN: svc.operatorToken };
    const out = path.join(dir, 'e-2.csv');
    const exported = await runCli(['audit', 'export', '--flow', 'e-2', '--format', 'csv', '--out', out], env);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^exported 2 events of 1 flow to .*e-2\.csv \(csv\); final line hash [0-9a-f]{64}$/m);
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);

    const verified = await runCli(['--json', 'audit', 'verify', '--file', out]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.json().ok, true);
    assert.equal(verified.json().final_hash, /final line hash ([0-9a-f]{64})/.exec(exported.stdout)![1]);

    const again = await runCli(['audit', 'export', '--flow', 'e-2', '--out', out], env);
    assert.equal(again.code, 2, 'an existing file is not overwritten');

    const copy = path.join(dir, 'e-2-edited.csv');
    fs.writeFileSync(copy, fs.readFileSync(out, 'utf8').replace('amount', 'amounts'));
    const failed = await runCli(['audit', 'verify', '--file', copy]);
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr.trim().split('\n').length, 1);
    assert.match(failed.stderr, /e-2-edited\.csv does not verify: line \d+: /);

    const stdout = await runCli(['audit', 'export', '--flow', 'e-1'], env);
    assert.equal(stdout.code, 0, stdout.stderr);
    assert.equal((await verifyExport([stdout.stdout])).ok, true);
  });
});
