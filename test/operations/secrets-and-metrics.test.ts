import { redemptionFlowId } from '../../core/flow-ids';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { openKeystoreFile } from '../../chain/keystore';
import type { IssuanceService } from '../../server/issuance-service';
import { type MintEnv, startMintEnv, waitForState } from '../support/mint-env';
import { listTables } from '../support/test-database';
import { detect, mintThroughFlow, sendToRedemptionWallet, units } from '../support/redemption-helpers';

const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

/**
 * One full mint and one full redemption with every log level on and the live inspector attached;
 * then every configured secret is looked for in everything the service wrote or said.
 */
describe('operations: secrets stay secret, metrics tell the story (full mint and redemption)', function () {
  this.timeout(120_000);
  let env: MintEnv & { svc: IssuanceService };
  let inspector: WebSocketServer;
  const logLines: string[] = [];
  const inspectorMessages: string[] = [];
  const errorBodies: string[] = [];
  const metricsToken = 'metrics-token-7d1e0c5b9a3f2e41';
  let redemptionFlow: string;

  before(async () => {
    inspector = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    inspector.on('connection', (socket) => socket.on('message', (m) => inspectorMessages.push(m.toString())));
    await new Promise<void>((resolve) => inspector.once('listening', () => resolve()));
    const log = pino(
      { level: 'trace' },
      new Writable({
        write(chunk, _enc, done) {
          logLines.push(chunk.toString());
          done();
        },
      }),
    );
    const inspectUrl = `ws://127.0.0.1:${(inspector.address() as AddressInfo).port}`;
    env = (await startMintEnv({ poller: { pollMs: 60_000 } }, { log, config: { inspectUrl, metricsToken } })) as MintEnv & { svc: IssuanceService };
    await env.svc.poller.tick();

    await mintThroughFlow(env, '3');
    const transfer = await sendToRedemptionWallet(env, units('1.5'));
    const receipt = await env.provider.getTransactionReceipt(transfer.txHash);
    const logIndex = receipt!.logs.find((l) => l.topics[0] === TRANSFER_TOPIC)!.index;
    redemptionFlow = redemptionFlowId('base', transfer.txHash, logIndex);
    await detect(env, redemptionFlow);
    await waitForState(env.svc, redemptionFlow, ['completed']);

    // Requests that fail, some carrying a secret where a value should be: the error must not echo it.
    const attempts: Array<[string, string, Record<string, string>, unknown]> = [
      ['POST', '/tokenization/mint', { 'x-api-key': env.apiKey }, { qty: env.apiKey, underlying_symbol: env.operatorToken }],
      ['POST', '/tokenization/mint', { 'x-api-key': `${env.apiKey}x` }, {}],
      ['GET', '/operator/flows', { authorization: `Bearer ${env.operatorToken}x` }, undefined],
      ['POST', `/operator/flows/${redemptionFlow}/events`, { authorization: `Bearer ${env.operatorToken}` }, { type: 'OPERATOR_CLOSE', note: env.config.alpaca!.secret }],
      ['GET', '/metrics', { authorization: `Bearer ${env.apiKey}` }, undefined],
    ];
    for (const [method, path, headers, body] of attempts) {
      const res = await fetch(`${env.svc.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
      assert.ok(res.status >= 400, `${method} ${path} should fail, got ${res.status}`);
      errorBodies.push(`${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${await res.text()}`);
    }
    // Give the inspector stream a moment to flush what was committed.
    await new Promise((r) => setTimeout(r, 300));
  });

  after(async () => {
    await env?.close();
    inspector?.close();
  });

  it('finds no configured secret in logs, error responses, any database table, the inspector stream or the metrics', async () => {
    const wallet = await openKeystoreFile(env.chain.keystoreFile, env.chain.keystorePasswordFile);
    const alpaca = env.config.alpaca!;
    const secrets: Record<string, string> = {
      'inbound API key': env.apiKey,
      'operator token': env.operatorToken,
      'metrics token': metricsToken,
      'Alpaca API secret': alpaca.secret!,
      'Alpaca Basic credential': Buffer.from(`${alpaca.keyId}:${alpaca.secret}`).toString('base64'),
      'keystore password': fs.readFileSync(env.chain.keystorePasswordFile, 'utf8').trim(),
      'issuer private key': wallet.privateKey.slice(2),
    };

    const tables = await listTables(env.svc.db);
    assert.ok(tables.includes('journal') && tables.includes('outbox') && tables.includes('chain_transactions'));
    const database: string[] = [];
    for (const table of tables) database.push(`${table}: ${JSON.stringify(await env.svc.db(table).select())}`);

    const metrics = await fetch(`${env.svc.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    assert.equal(metrics.status, 200);
    const places: Record<string, string> = {
      logs: logLines.join(''),
      'error responses': errorBodies.join('\n'),
      database: database.join('\n'),
      'inspector stream': inspectorMessages.join('\n'),
      metrics: await metrics.text(),
    };

    // The places are not empty: the search would prove nothing otherwise.
    assert.ok(logLines.length > 30, `only ${logLines.length} log lines`);
    assert.ok(inspectorMessages.some((m) => m.includes(redemptionFlow)), 'the inspector saw the redemption');
    assert.ok(places.database!.includes('"type":"MINT_CONFIRMED"') || places.database!.includes('completed'));
    assert.ok(places['error responses']!.includes('"code"'));

    const leaks: string[] = [];
    for (const [place, text] of Object.entries(places)) {
      for (const [name, secret] of Object.entries(secrets)) {
        assert.ok(secret.length >= 16, `${name} is a real secret`);
        if (text.toLowerCase().includes(secret.toLowerCase())) leaks.push(`${name} in ${place}`);
      }
    }
    assert.deepEqual(leaks, []);
  });

  it('reports the flows, transitions, effects, Alpaca latency, confirmations and poller lag on /metrics', async () => {
    const unauthorized = await fetch(`${env.svc.url}/metrics`);
    assert.equal(unauthorized.status, 401);
    const text = await (await fetch(`${env.svc.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
    const value = (pattern: RegExp) => {
      const m = pattern.exec(text);
      assert.ok(m, `no line matching ${pattern}`);
      return Number(m[1]);
    };
    assert.equal(value(/^issuance_flows\{type="mint",state="completed",needs_operator="false"\} (\d+)$/m), 1);
    assert.equal(value(/^issuance_flows\{type="redemption",state="completed",needs_operator="false"\} (\d+)$/m), 1);
    assert.ok(value(/^issuance_transitions_total\{type="mint",event="MINT_CONFIRMED"\} (\d+)$/m) >= 1 || /issuance_transitions_total\{type="mint"/.test(text));
    const mintTransitions = [...text.matchAll(/^issuance_transitions_total\{type="mint",event="[^"]+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    const journalRows = Number((await env.svc.db('journal').where({ flow_id: (await env.svc.db('flows').where({ flow_type: 'mint' }).first()).flow_id }).count({ n: '*' }))[0]!.n);
    assert.equal(mintTransitions, journalRows, 'one transition counted per journaled mint event');
    assert.ok(value(/^issuance_effect_attempts_total\{effect="[^"]*[Mm]int[^"]*",outcome="succeeded"\} (\d+)$/m) >= 1);
    assert.ok(value(/^issuance_alpaca_call_duration_seconds_count\{operation="POST \/callback\/mint",status="200"\} (\d+)$/m) >= 1);
    assert.ok(value(/^issuance_alpaca_call_duration_seconds_count\{operation="POST \/callback\/redeem",status="200"\} (\d+)$/m) >= 1);
    assert.ok(value(/^issuance_chain_transactions_confirmed_total\{kind="[^"]+"\} (\d+)$/m) >= 1);
    assert.equal(value(/^issuance_chain_transactions\{status="confirmed"\} (\d+)$/m), 2, 'the mint and the burn');
    assert.ok(value(/^issuance_transfer_poller_lag_blocks\{network="base",vault="0x[0-9a-f]+"\} (\d+)$/m) >= 0);
    assert.equal(value(/^issuance_timer_lag_seconds (\S+)$/m), 0);
    assert.ok(value(/^issuance_http_request_duration_seconds_count\{method="POST",route="\/tokenization\/mint",status="200"\} (\d+)$/m) >= 1);
    assert.ok(!/issuance_flows_stuck\{/.test(text), 'nothing is stuck yet');

    // An hour later with nothing moving, the unfinished flows would show up as stuck: make one unfinished.
    await env.svc.db('flows').where({ flow_id: redemptionFlow }).update({ status: 'active' });
    env.clock.advance(31 * 60_000);
    const later = await (await fetch(`${env.svc.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
    assert.match(later, /^issuance_flows_stuck\{type="redemption",state="completed"\} 1$/m);
  });
});
