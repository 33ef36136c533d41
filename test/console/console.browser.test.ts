import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type MintEnv, startMintEnv } from '../support/mint-env';

/** Debian's Chromium (`apt-get install chromium`); playwright-core brings no browser of its own. */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
/** Panels built for endpoints an instance may not serve (yet): they show "not available" on a 404. */
const OPTIONAL_ENDPOINTS = ['/operator/controls', '/operator/reconciliation'];
const SECOND_OPERATOR_TOKEN = crypto.randomBytes(20).toString('hex');
const MINT_STATES = ['awaitingJournal', 'minting.submitting', 'minting.confirming', 'callingBack', 'completed'];

/**
 * The operator console in headless Chromium against a full environment (devnet, vault, fake Alpaca,
 * the service): sign in, watch a mint move to completed over the live journal, read its chart, halt
 * an asset. Screenshots go to test-artifacts/console-<step>.png.
 */
describe('console in a browser (headless Chromium)', function () {
  this.timeout(60_000);
  let env: MintEnv;
  let browser: Browser;
  let page: Page;
  /** Script errors and policy violations the page reports: there must be none. */
  const problems: string[] = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      if (process.env.REQUIRE_CHROMIUM === '1') throw new Error(`${CHROMIUM} is missing and REQUIRE_CHROMIUM=1: install Debian's chromium package`);
      console.log(`      skipped: ${CHROMIUM} not found (apt-get install chromium; REQUIRE_CHROMIUM=1 makes this a failure)`);
      this.skip();
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    // A journal that never times out by itself, so a mint left waiting can be made stuck by moving the clock.
    // A second named operator gives the second approval of a held mint (four eyes).
    env = await startMintEnv(
      { mint: { journalTimeoutMs: 24 * 3_600_000, confirmWaitMs: 2_000, callbackRetry: { baseMs: 20, capMs: 100, maxAttempts: 3 } } },
      { config: { operators: new Map([['second-operator', SECOND_OPERATOR_TOKEN]]) } },
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1500, height: 950 } });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      // The browser logs every non-2xx fetch; two are expected: the refused wrong token, and a panel's endpoint this instance does not serve.
      const url = m.location().url ?? '';
      if (/status of 401/.test(m.text()) && url.endsWith('/operator/flows?limit=1')) return;
      if (/status of 404/.test(m.text()) && OPTIONAL_ENDPOINTS.some((p) => url.endsWith(p))) return;
      // The second approval by the operator who gave the first, refused on purpose below.
      if (/status of 409/.test(m.text()) && /\/operator\/flows\/[^/]+\/events$/.test(url)) return;
      problems.push(`console: ${m.text()} (${url})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });
  after(async () => {
    await browser?.close();
    await env?.close();
  });

  const shot = (step: string) => page.screenshot({ path: path.join(ARTIFACTS, `console-${step}.png`), fullPage: true });
  // Callbacks passed to page.evaluate run in the page; the test's own typings have no DOM, hence `globalThis as any`.
  const go = (hash: string) => page.evaluate((h) => ((globalThis as any).location.hash = h), hash);

  it('loads without credentials, refuses a wrong token, and signs in with the operator token kept in session storage only', async () => {
    const res = await page.goto(`${env.svc.url}/console`);
    assert.equal(res?.status(), 200);
    await page.locator('#login').waitFor();
    await page.fill('#token', 'not-the-operator-token');
    await page.click('#login-form button[type=submit]');
    await page.locator('#login-error', { hasText: 'refused' }).waitFor();

    await page.fill('#token', env.operatorToken);
    await page.click('#login-form button[type=submit]');
    await page.locator('#live[data-status="live"]').waitFor();
    const storage = await page.evaluate(() => {
      const w = globalThis as any;
      return { session: { ...w.sessionStorage }, local: w.localStorage.length as number, cookie: w.document.cookie as string, url: w.location.href as string };
    });
    assert.deepEqual(Object.values(storage.session), [env.operatorToken]);
    assert.equal(storage.local, 0);
    assert.equal(storage.cookie, '');
    assert.ok(!storage.url.includes(env.operatorToken));
    // Survives only if the page is never reloaded.
    await page.evaluate(() => ((globalThis as any).sameDocument = true));
  });

  it('shows a new mint and follows it live through every state to completed, on its chart too', async () => {
    const trid = crypto.randomUUID();
    const flowId = `mint:${trid}`;
    const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty: '3.5', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    assert.equal(created.status, 200);
    const row = page.locator(`table tr[data-flow-id="${flowId}"]`).first();
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'awaitingJournal');

    await row.locator('a.flow-link').click();
    await page.locator('#flow-state[data-state="awaitingJournal"]').waitFor();
    await page.locator('#chart[data-highlighted="mint.awaitingJournal"]').waitFor();

    assert.equal((await env.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed')).status, 200);
    await page.locator('#flow-state[data-state="completed"]').waitFor({ timeout: 20_000 });
    await page.locator('#chart[data-highlighted="mint.completed"]').waitFor();
    const current = await page.locator('#chart svg g.node.current title').allTextContents();
    assert.deepEqual(current, ['mint.completed'], 'exactly one node marked, the current state');

    // Each state arrived over the journal stream, in order (the page's reloads may get to `completed` first).
    await page.locator(`#activity li[data-flow-id="${flowId}"][data-state="completed"]`).waitFor();
    const seen = await page.locator(`#activity li[data-flow-id="${flowId}"]`).evaluateAll((items) => items.map((li: any) => [Number(li.dataset.seq), li.dataset.state as string]));
    const states = seen.sort((a, b) => (a[0] as number) - (b[0] as number)).map((s) => s[1]);
    assert.deepEqual(states, MINT_STATES);
    const detail = await env.operator('GET', `/operator/flows/${encodeURIComponent(flowId)}`);
    await page.locator('table tr[data-seq]').nth(detail.body.timeline.length - 1).waitFor();
    assert.equal(await page.locator('table tr[data-seq]').count(), detail.body.timeline.length);
    assert.equal(await page.evaluate(() => (globalThis as any).sameDocument), true, 'no reload');
    await shot('flow');

    await go('#/flows');
    await page.locator(`table tr[data-flow-id="${flowId}"][data-state="completed"]`).first().waitFor();
    await shot('flows');
  });

  it('puts a flow with no progress for the stuck threshold on top of the flows', async () => {
    const trid = crypto.randomUUID();
    const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty: '1', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    assert.equal(created.status, 200);
    env.clock.advance(31 * 60_000);
    await go('#/receipts');
    await go('#/flows');
    const stuck = page.locator(`.stuck-card tr[data-flow-id="mint:${trid}"]`);
    await stuck.waitFor();
    assert.equal(await stuck.getAttribute('data-state'), 'awaitingJournal');
    assert.match((await page.locator('.stuck-card').getAttribute('class')) ?? '', /\balarm\b/);
    await page.locator(`#activity li[data-flow-id="mint:${trid}"]`).waitFor();
    await shot('stuck');
  });

  it("lists the mint's receipt and verifies the inventory against the chain", async () => {
    await go('#/receipts');
    await page.locator('table tr td', { hasText: 'tAAPL' }).first().waitFor();
    await page.getByRole('button', { name: 'Verify against the chain' }).click();
    await page.locator('.ok-text', { hasText: 'Every receipt matches' }).waitFor();
    await shot('receipts');
  });

  it('holds a large mint for two approvals: its chart marks the nested state, the console approves once, refuses the same operator twice, and follows the second approval live; pauses and resumes issuance', async () => {
    const served = (await env.operator('GET', '/operator/controls')).status;
    if (served === 404) {
      await go('#/controls');
      await page.locator('[data-not-available="/operator/controls"]').waitFor();
      await page.getByRole('heading', { name: 'Waiting for approval' }).waitFor();
      await shot('controls');
      return;
    }
    assert.equal(served, 200);
    const limit = await env.operator('PATCH', `/operator/controls/assets/${env.assetId}`, { approval_threshold: '10' });
    assert.equal(limit.status, 200, JSON.stringify(limit.body));
    const trid = crypto.randomUUID();
    const flowId = `mint:${trid}`;
    const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty: '25', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
    assert.equal(created.status, 200);
    assert.equal((await env.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed')).status, 200);

    await go(`#/flow/${encodeURIComponent(flowId)}`);
    await page.locator('#chart[data-highlighted="mint.awaitingApproval.pending"]').waitFor();
    assert.deepEqual(await page.locator('#chart svg g.cluster.current-parent title').allTextContents(), ['cluster_mint.awaitingApproval']);

    await go('#/controls');
    const row = page.locator(`tr[data-flow-id="${flowId}"]`);
    await page.locator(`tr[data-flow-id="${flowId}"][data-state="awaitingApproval.pending"]`).waitFor();
    await row.locator('[data-action="approve"]').click();
    await page.locator(`tr[data-flow-id="${flowId}"][data-state="awaitingApproval.endorsed"]`).waitFor();
    await row.locator('[data-action="approve"]').click();
    await page.locator('#notice.error', { hasText: 'different operator' }).waitFor();
    await shot('approvals');

    const second = await fetch(`${env.svc.url}/operator/flows/${encodeURIComponent(flowId)}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECOND_OPERATOR_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'OPERATOR_APPROVE' }),
    });
    assert.equal(second.status, 200);
    await page.locator(`#activity li[data-flow-id="${flowId}"][data-state="completed"]`).waitFor({ timeout: 20_000 });
    await row.waitFor({ state: 'detached' });

    await page.fill('.pause-panel input.reason', 'Market data outage (console test)');
    await page.click('[data-action="pause"]');
    await page.locator('.control-state.paused').waitFor();
    const paused = await env.operator('GET', '/operator/controls');
    assert.deepEqual([paused.body.issuance.paused, paused.body.issuance.pause_reason, paused.body.issuance.changed_by], [true, 'Market data outage (console test)', 'operator']);
    await shot('controls');
    await page.click('[data-action="resume"]');
    await page.locator('.control-state.running').waitFor();
    assert.equal((await env.operator('GET', '/operator/controls')).body.issuance.paused, false);
  });

  it('shows reconciliation with its alerts on top, or says plainly that this instance does not serve it', async () => {
    const served = (await env.operator('GET', '/operator/reconciliation')).status;
    await go('#/reconciliation');
    if (served === 404) {
      await page.locator('[data-not-available="/operator/reconciliation"]').waitFor();
    } else {
      assert.equal(served, 200, '/operator/reconciliation answers');
      await page.locator('.alerts, .all-clear').first().waitFor({ timeout: 10_000 });
      await page.locator('tr[data-underlying="AAPL"]').waitFor();
    }
    await shot('reconciliation');
  });

  it('halts an asset from the console, and the API shows it halted with the reason', async () => {
    await go('#/assets');
    const row = page.locator('tr[data-token="tAAPL"]');
    await row.locator('[data-action="halt"]').click();
    await row.locator('input.reason').fill('Corporate action pending (console test)');
    await row.locator('[data-action="confirm-halt"]').click();
    await page.locator('tr[data-token="tAAPL"][data-halted="true"]').waitFor();
    const { body } = await env.operator('GET', '/operator/assets');
    const asset = body.assets.find((a: any) => a.asset_id === env.assetId);
    assert.equal(asset.halted, true);
    assert.equal(asset.halt_reason, 'Corporate action pending (console test)');
    // The registry change came back over the stream too.
    await page.locator(`#activity li[data-flow-id="asset:${env.assetId}"]`).first().waitFor();
    await shot('assets');
  });

  it('ran without a script error or a refused resource (Content-Security-Policy)', () => {
    assert.deepEqual(problems, []);
  });
});
