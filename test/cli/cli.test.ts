import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Wallet } from 'ethers';
import { openKeystoreFile } from '../../chain/keystore';
import { buildProgram } from '../../cli/main';
import { parseDuration } from '../../cli/options';
import { openConfiguredDatabase } from '../../cli/replay';
import { testDatabaseEnv } from '../support/test-database';
import { tempDir, type TestService } from '../support/service';
import { type CliRun, type EffectScript, mintInput, operatorToken, redemptionInput, runCli, startMint, startOperatorService, startRedemption, transcript, waitForState } from './fixtures';
import { waitFor } from '../support/wait-for';

/** `issuance-bot` run as a child process against a running service, as an ops team would run it. */
describe('issuance-bot CLI', function () {
  this.timeout(30_000);
  const script: EffectScript = { callbackFailures: 0 };
  const bobToken = operatorToken();
  const carolToken = operatorToken();
  let svc: TestService;
  let dir: string;
  let tokenFile: string;
  let completedMint: string;
  let waitingMint: string;
  let heldRedemption: string;
  /** Remote commands as bob (token from a file) or carol (token from the environment). */
  const asBob = (...args: string[]) => runCli(['--url', svc.url, '--token-file', tokenFile, ...args]);
  const asCarol = (...args: string[]) => runCli(args, { ISSUANCE_URL: svc.url, ISSUANCE_OPERATOR_TOKEN: carolToken });
  const ids = (run: CliRun) => (run.json().flows as Array<{ flow_id: string }>).map((f) => f.flow_id).sort();
  const ok = (run: CliRun) => {
    assert.equal(run.code, 0, `exit ${run.code}: ${run.stderr}`);
    return run;
  };
  /** Failures print exactly one line to stderr. */
  const failed = (run: CliRun, code: number, pattern: RegExp) => {
    assert.equal(run.code, code, `expected exit ${code}, got ${run.code}: ${run.stdout}${run.stderr}`);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line on stderr: ${run.stderr}`);
    assert.match(lines[0]!, pattern);
  };

  before(async () => {
    dir = tempDir('issuance-cli-');
    tokenFile = path.join(dir, 'bob.token');
    fs.writeFileSync(tokenFile, `${bobToken}\n`, { mode: 0o600 });
    svc = await startOperatorService(script, { bob: bobToken, carol: carolToken });
    completedMint = await startMint(svc, mintInput({ tokenSymbol: 'tAAPL', underlyingSymbol: 'AAPL' }));
    await svc.host.send(completedMint, { type: 'JOURNAL_CONFIRMED' });
    await waitForState(svc, completedMint, 'completed');
    waitingMint = await startMint(svc, mintInput({ tokenSymbol: 'tMSFT', underlyingSymbol: 'MSFT' }));
    heldRedemption = await startRedemption(svc, redemptionInput({ tokenSymbol: 'tAAPL', underlyingSymbol: 'AAPL' }));
  });
  after(async () => {
    await svc?.close();
    // Checked last: no command, successful or not, ever printed a token.
    const printed = transcript.join('\n');
    for (const token of [bobToken, carolToken, svc.operatorToken]) assert.ok(!printed.includes(token), 'a token was printed');
  });

  it('flows list: filters by type, state, asset, needs-operator, and prints a table by default', async () => {
    assert.deepEqual(ids(ok(await asBob('flows', 'list', '--type', 'mint', '--json'))), [completedMint, waitingMint].sort());
    assert.deepEqual(ids(ok(await asBob('flows', 'list', '--state', 'completed', '--json'))), [completedMint]);
    assert.deepEqual(ids(ok(await asBob('--json', 'flows', 'list', '--asset', 'AAPL'))), [completedMint, heldRedemption].sort());
    assert.deepEqual(ids(ok(await asCarol('flows', 'list', '--needs-operator', '--json'))), [heldRedemption]);
    const table = ok(await asBob('flows', 'list', '--needs-operator'));
    const row = table.stdout.split('\n').find((l) => l.includes(heldRedemption));
    assert.ok(row, table.stdout);
    assert.match(row!, /unknownSender.*yes.*tAAPL/);
    assert.match(table.stdout, /flow .*type .*state/);
    assert.match(table.stdout, /^1 flow$/m);
  });

  it('flows list: --stuck and --older-than follow the service clock; --limit pages with --cursor', async () => {
    assert.deepEqual(ids(ok(await asBob('flows', 'list', '--stuck', '--json'))), []);
    svc.testClock.advance(31 * 60_000);
    assert.deepEqual(ids(ok(await asBob('flows', 'list', '--stuck', '--json'))), [waitingMint, heldRedemption].sort());
    assert.deepEqual(ids(ok(await asBob('flows', 'list', '--stuck', '45', '--json'))), []);
    assert.equal(ids(ok(await asBob('flows', 'list', '--older-than', '30m', '--json'))).length, 3);
    assert.deepEqual(ids(ok(await asBob('flows', 'list', '--older-than', '1h', '--json'))), []);
    const first = ok(await asBob('flows', 'list', '--limit', '2', '--json')).json();
    assert.equal(first.flows.length, 2);
    const rest = ok(await asBob('flows', 'list', '--limit', '2', '--cursor', first.next_cursor, '--json')).json();
    assert.deepEqual([...first.flows, ...rest.flows].map((f: any) => f.flow_id).sort(), [completedMint, waitingMint, heldRedemption].sort());
    assert.match(ok(await asBob('flows', 'list', '--limit', '2')).stdout, /more with --cursor \S+/);
  });

  it('flows show: state, context, timeline, effects and timers, as a table or JSON', async () => {
    const text = ok(await asBob('flows', 'show', completedMint)).stdout;
    for (const part of ['timeline', 'effects', 'timers', 'flow.started', 'JOURNAL_CONFIRMED', 'MINT_TX_SENT', 'CALLBACK_ACKNOWLEDGED', 'notifyAlpacaOfMint', 'tokenSymbol']) assert.ok(text.includes(part), `${part} in:\n${text}`);
    assert.match(text, /^state +completed$/m);
    const detail = ok(await asBob('flows', 'show', completedMint, '--json')).json();
    assert.equal(detail.flow.state, 'completed');
    assert.deepEqual(detail.timeline.map((e: any) => e.seq), [1, 2, 3, 4, 5]);
    assert.equal(detail.outbox.length, 3);
    const waiting = ok(await asBob('flows', 'show', waitingMint)).stdout;
    assert.match(waiting, /journalTimeout/, 'the journal deadline timer is listed');
    failed(await asBob('flows', 'show', 'mint:unknown'), 1, /404 flow_not_found/);
  });

  it('flows close: sends OPERATOR_CLOSE where the state takes it, journaled under the operator; refuses elsewhere', async () => {
    failed(await asBob('flows', 'close', completedMint), 1, /cannot close mint:.* in state completed; it takes no operator event/);
    failed(await asBob('flows', 'close', waitingMint), 1, /state awaitingJournal/);
    const closed = ok(await asBob('flows', 'close', heldRedemption, '--note', 'returned by hand'));
    assert.match(closed.stdout, /OPERATOR_CLOSE accepted; now closedByOperator/);
    const last = ok(await asCarol('flows', 'show', heldRedemption, '--json')).json().timeline.at(-1);
    assert.deepEqual([last.type, last.operator, last.payload.note], ['OPERATOR_CLOSE', 'bob', 'returned by hand']);
    const stored = await svc.db('journal').where({ flow_id: heldRedemption }).orderBy('seq', 'desc').first();
    assert.equal(JSON.parse(stored.payload).operator, 'bob');
  });

  it('effects retry brings a backed-off effect forward; a failed one is refused and flows retry picks the OPERATOR_RETRY* event', async () => {
    script.callbackFailures = 3;
    const flowId = await startMint(svc, mintInput({ tokenSymbol: 'tAAPL', underlyingSymbol: 'AAPL' }));
    await svc.host.send(flowId, { type: 'JOURNAL_CONFIRMED' });
    const row = async () => svc.db('outbox').where({ flow_id: flowId, type: 'notifyAlpacaOfMint' }).first();
    await waitFor('the first callback failure', async () => Number((await row())?.attempts) === 1 && (await row()).last_error);
    const effectId = (await row()).effect_id;
    // Effects of the flow are listed by `flows show`, with the one in backoff marked.
    assert.match(ok(await asBob('flows', 'show', flowId)).stdout, new RegExp(`${effectId} .*notifyAlpacaOfMint .*backoff`));
    const madeDue = ok(await asCarol('effects', 'retry', flowId, effectId, '--json')).json();
    assert.deepEqual([madeDue.outcome, madeDue.operator], ['made_due', 'carol']);
    await waitFor('the second attempt', async () => Number((await row()).attempts) === 2);
    assert.match(ok(await asBob('effects', 'retry', flowId, effectId)).stdout, /made due now by bob; 2 attempts so far/);
    await waitForState(svc, flowId, 'callbackFailed');
    failed(await asBob('effects', 'retry', flowId, effectId), 1, /409 effect_failed_use_operator_event: .*OPERATOR_RETRY_CALLBACK/);
    assert.deepEqual(ids(ok(await asBob('flows', 'list', '--needs-operator', '--json'))), [flowId]);
    const retried = ok(await asCarol('flows', 'retry', flowId, '--json')).json();
    assert.equal(retried.event, 'OPERATOR_RETRY_CALLBACK');
    await waitForState(svc, flowId, 'completed');
    const journal = await svc.db('journal').where({ flow_id: flowId, type: 'OPERATOR_RETRY_CALLBACK' });
    assert.equal(journal.length, 1);
    assert.equal(JSON.parse(journal[0].payload).operator, 'carol');
    failed(await asBob('flows', 'retry', completedMint), 1, /cannot retry .* it takes no operator event/);
  });

  it('flows send: sends a named OPERATOR_* event and reports a refusal as exit 1', async () => {
    failed(await asBob('flows', 'send', completedMint, 'OPERATOR_RETRY_MINT'), 1, /409 event_not_accepted: .*does not accept OPERATOR_RETRY_MINT/);
    failed(await asBob('flows', 'send', completedMint, 'JOURNAL_CONFIRMED'), 2, /only OPERATOR_\* events/);
  });

  it('exits 2 on usage errors and 1 when the service refuses or cannot be reached', async () => {
    failed(await asBob('flows', 'list', '--limit', '0'), 2, /--limit/);
    failed(await asBob('flows', 'list', '--older-than', 'soon'), 2, /duration/);
    failed(await asBob('flows', 'list', '--since', 'last week'), 2, /ISO 8601/);
    failed(await asBob('flows', 'frobnicate'), 2, /unknown command/);
    failed(await asBob('flows', 'list', '--token', 'x'), 2, /unknown option '--token'/);
    failed(await runCli(['flows', 'list', '--url', svc.url]), 2, /no operator token: set ISSUANCE_OPERATOR_TOKEN or pass --token-file/);
    failed(await runCli(['flows', 'list', '--url', 'ftp://example.com', '--token-file', tokenFile]), 2, /http/);
    failed(await runCli(['flows', 'list', '--url', svc.url, '--token-file', path.join(dir, 'missing')]), 2, /cannot read --token-file/);
    failed(await runCli(['flows', 'list'], { ISSUANCE_URL: svc.url, ISSUANCE_OPERATOR_TOKEN: 'not-a-valid-operator-token' }), 1, /401 invalid_operator_token/);
    failed(await runCli(['flows', 'list', '--url', 'http://127.0.0.1:1', '--token-file', tokenFile]), 1, /cannot reach http:\/\/127\.0\.0\.1:1/);
    assert.deepEqual(['90', '90s', '15m', '2h', '3d'].map(parseDuration), [90, 90, 900, 7200, 259_200]);
  });

  it('offers every command of the ops runbook', () => {
    const names = (cmd: ReturnType<typeof buildProgram>, prefix = ''): string[] => cmd.commands.flatMap((c) => [`${prefix}${c.name()}`, ...names(c, `${prefix}${c.name()} `)]);
    const all = names(buildProgram({}));
    for (const c of ['flows list', 'flows show', 'flows send', 'flows close', 'flows retry', 'effects list', 'effects retry', 'receipts', 'replay verify', 'views rebuild', 'keystore create', 'health']) assert.ok(all.includes(c), c);
  });

  it('receipts lists the receipts held; --verify-chain fails when the service cannot read the chain', async () => {
    const receipts = ok(await asBob('receipts', '--json')).json().receipts;
    assert.equal(receipts.length, 2, 'one receipt per confirmed mint');
    assert.ok(receipts.every((r: any) => r.shares_remaining === '2500000000000000000'));
    assert.match(ok(await asBob('receipts')).stdout, /2 receipts/);
    failed(await asBob('receipts', '--verify-chain'), 1, /no chain connection/);
  });

  it('health reports the instance, and with a token the flows waiting for an operator', async () => {
    const health = ok(await asBob('health', '--json')).json();
    assert.deepEqual([health.live, health.ready, health.mode, health.needs_operator], [true, true, 'sandbox', '0']);
    assert.match(ok(await runCli(['health', '--url', svc.url])).stdout, /ready +ok/);
    failed(await runCli(['health', '--url', 'http://127.0.0.1:1']), 1, /cannot reach/);
  });

  it('replay verify and views rebuild open the database through the service configuration, and notice a tampered snapshot', async () => {
    const verified = ok(await runCli(['replay', 'verify', '--json'], {}, svc.dataDir)).json();
    const flows = Number((await svc.db('flows').count({ n: '*' }))[0]!.n);
    assert.deepEqual([verified.ok, verified.flows, verified.mismatches], [true, flows, []]);
    assert.ok(verified.events > flows);
    assert.deepEqual(verified.views.differing, []);
    assert.match(ok(await runCli(['views', 'rebuild'], {}, svc.dataDir)).stdout, /views rebuilt from \d+ journal events/);
    await svc.close();
    const handle = await openConfiguredDatabase({ DATA_DIR: svc.dataDir, ...testDatabaseEnv(svc.dataDir) });
    try {
      const row = await handle('flows').where({ flow_id: completedMint }).first();
      const snapshot = JSON.parse(row.snapshot);
      snapshot.context.qty = '999';
      await handle('flows').where({ flow_id: completedMint }).update({ snapshot: JSON.stringify(snapshot) });
    } finally {
      await handle.destroy();
    }
    const tampered = await runCli(['replay', 'verify'], {}, svc.dataDir);
    failed(tampered, 1, /the journal does not reproduce the stored state/);
    assert.match(tampered.stdout, new RegExp(`mismatch: ${completedMint}`));
  });

  it('keystore create writes an encrypted keystore that opens with the password, and never the key itself', async () => {
    const passwordFile = path.join(dir, 'password');
    fs.writeFileSync(passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
    const key = Wallet.createRandom().privateKey;
    const keyFile = path.join(dir, 'key.hex');
    fs.writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    const out = path.join(dir, 'issuer.keystore.json');
    const created = ok(await runCli(['keystore', 'create', '--out', out, '--password-file', passwordFile, '--import-key-file', keyFile, '--json']));
    assert.equal(created.json().address, new Wallet(key).address.toLowerCase());
    assert.ok(!created.stdout.includes(key.slice(2)) && !created.stderr.includes(key.slice(2)), 'the key is not printed');
    const content = fs.readFileSync(out, 'utf8');
    assert.ok(!content.toLowerCase().includes(key.slice(2).toLowerCase()), 'the keystore does not hold the plaintext key');
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    assert.equal((await openKeystoreFile(out, passwordFile)).privateKey, key);

    const fresh = ok(await runCli(['keystore', 'create', '--out', path.join(dir, 'fresh.json'), '--password-file', passwordFile]));
    assert.match(fresh.stdout, /for issuer address 0x[0-9a-f]{40}$/m);
    failed(await runCli(['keystore', 'create', '--out', out, '--password-file', passwordFile]), 1, /already exists/);
    fs.writeFileSync(path.join(dir, 'short'), 'short');
    failed(await runCli(['keystore', 'create', '--out', path.join(dir, 'x.json'), '--password-file', path.join(dir, 'short')]), 1, /at least 12 characters/);
    fs.writeFileSync(path.join(dir, 'bad.hex'), 'not a key');
    failed(await runCli(['keystore', 'create', '--out', path.join(dir, 'y.json'), '--password-file', passwordFile, '--import-key-file', path.join(dir, 'bad.hex')]), 1, /does not hold a private key/);
    failed(await runCli(['keystore', 'create', '--password-file', passwordFile]), 2, /--out/);
  });
});
