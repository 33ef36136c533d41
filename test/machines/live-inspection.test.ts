import assert from 'node:assert/strict';
import http from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import WebSocket from 'ws';
import { initialTransition } from 'xstate';
import { mintMachine, type MintInput } from '../../machines/mint';
import { redemptionMachine, type RedemptionInput } from '../../machines/redemption';
import type { CommittedTransition, FlowHost } from '../../runtime/flow-host';
import { MINT_MACHINE_VERSION } from '../../machines/mint';
import { REDACTED, checkInspectUrl, isSecretName, sanitizeForInspection, startLiveInspection } from '../../runtime/live-inspection';
import { BRIDGE_HOST, type InspectorBridge, startInspectorBridge } from '../../server/inspect-server';

/** A FlowHost as far as live inspection uses it: the test fires transitions by hand. */
function fakeHost() {
  const listeners: Array<(t: CommittedTransition) => void> = [];
  return {
    listeners,
    host: { onTransition: (l: (t: CommittedTransition) => void) => void listeners.push(l) } as Pick<FlowHost, 'onTransition'>,
    fire: (t: CommittedTransition) => listeners.forEach((l) => l(t)),
  };
}

function capturingLogger() {
  const lines: any[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(chunk.toString())), done()) }));
  return { log, lines };
}

function connect(url: string, origin?: string): Promise<{ ws: WebSocket; messages: any[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
  });
}

/** fetch will not send a Host header of our choosing; http.request will. */
function statusWithHost(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', headers: { host } }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject);
  });
}

async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const mintInput: MintInput = {
  tokenizationRequestId: 'req-1',
  issuerRequestId: 'iss-1',
  requestHash: 'a'.repeat(64),
  apId: 'ap-1',
  clientRef: { client_external_account_id: 'client-1' },
  assetId: 'asset-1',
  underlyingSymbol: 'AAPL',
  tokenSymbol: 'tAAPL',
  network: 'base',
  vaultAddress: `0x${'1'.repeat(40)}`,
  decimals: 18,
  walletAddress: `0x${'2'.repeat(40)}`,
  qty: '1.5',
  amountUnits: '1500000000000000000',
  journalTimeoutMs: 60_000,
};

const redemptionInput: RedemptionInput = {
  network: 'base',
  txHash: `0x${'3'.repeat(64)}`,
  logIndex: 0,
  blockNumber: 7,
  sender: `0x${'2'.repeat(40)}`,
  amountUnits: '1000000000000000000',
  assetId: 'asset-1',
  underlyingSymbol: 'AAPL',
  tokenSymbol: 'tAAPL',
  vaultAddress: `0x${'1'.repeat(40)}`,
  decimals: 18,
  apId: 'ap-1',
  clientRef: { client_account_id: 'acct-1' },
  assetHalted: false,
  earlierFlowState: null,
  qty: '1',
  qtyUnits: '1000000000000000000',
  dustUnits: '0',
  pollIntervalMs: 5_000,
  alpacaDeadlineMs: 86_400_000,
};

// Credential-like values a context or event might one day carry; none may reach the inspector.
const SECRETS = {
  privateKey: `0x${'ab'.repeat(32)}`,
  password: 'keystore-password-123',
  apiKey: 'alpaca-inbound-key-456',
  api_secret: 'alpaca-secret-789',
  authorization: 'Basic dXNlcjpwYXNz',
  signature: 'sig1=:bWFkZS11cC1zaWduYXR1cmU=:',
  rawTx: `0x02f8${'cd'.repeat(120)}`,
  signedTx: `0x02f9${'ef'.repeat(120)}`,
  operatorToken: 'operator-bearer-token-0001',
  accessToken: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcCJ9.c2lnbmF0dXJl',
};

describe('live inspection: only to this machine, never a secret', () => {
  it('accepts loopback inspector URLs and refuses others unless explicitly allowed', () => {
    for (const url of ['ws://127.0.0.1:8090', 'ws://localhost:8090', 'ws://[::1]:8090', 'ws://127.8.9.10:1', 'wss://localhost/x']) {
      assert.deepEqual(checkInspectUrl(url, false).ok, true, url);
    }
    for (const url of ['ws://10.0.0.5:8090', 'ws://0.0.0.0:8090', 'ws://inspector.example.com:8090', 'ws://127.0.0.1.evil.example:8090', 'ws://localhost.evil.example', 'ws://[::2]:8090']) {
      const verdict = checkInspectUrl(url, false);
      assert.equal(verdict.ok, false, url);
      assert.match((verdict as { reason: string }).reason, /STATELY_INSPECT_ALLOW_REMOTE/, url);
      assert.deepEqual(checkInspectUrl(url, true), { ok: true, remote: true, shownUrl: verdict.shownUrl }, `${url} when allowed`);
    }
    assert.equal(checkInspectUrl('http://127.0.0.1:8090', true).ok, false, 'not a WebSocket URL');
    const withCredentials = checkInspectUrl('ws://user:hunter2@10.0.0.5:8090/path', false);
    assert.ok(!withCredentials.shownUrl.includes('hunter2'), 'credentials in the URL are never shown');
  });

  it('streams nothing and warns when STATELY_INSPECT_URL is not on loopback', async () => {
    const { host, listeners } = fakeHost();
    const { log, lines } = capturingLogger();
    const inspection = await startLiveInspection(host, 'ws://192.0.2.10:8090', log, { allowRemote: false });
    assert.equal(inspection.streaming, false);
    assert.equal(listeners.length, 0, 'no transition is ever observed');
    const warning = lines.find((l) => l.level === 40);
    assert.ok(warning, 'a warning is logged');
    assert.match(warning.msg, /refused.*192\.0\.2\.10.*not this machine's loopback/);
    inspection.stop();
  });

  it('the bridge listens on 127.0.0.1 only and serves only loopback hosts and its own page', async () => {
    const bridge = await startInspectorBridge(0);
    try {
      assert.equal(BRIDGE_HOST, '127.0.0.1');
      assert.equal(bridge.url, `ws://127.0.0.1:${bridge.port}`);
      const page = await fetch(`http://127.0.0.1:${bridge.port}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /stately\.ai\/inspect/);
      // DNS rebinding: a foreign name resolving to 127.0.0.1 gets nothing.
      assert.equal(await statusWithHost(bridge.port, 'evil.example'), 403);
      assert.equal(await statusWithHost(bridge.port, `localhost:${bridge.port}`), 200);
      // A web page elsewhere cannot open a cross-site WebSocket to read the stream.
      await assert.rejects(connect(bridge.url, 'https://evil.example'), /refused with 401/);
      await assert.rejects(connect(bridge.url, `http://127.0.0.1:${bridge.port + 1}`), /refused with 401/);
      const viewer = await connect(bridge.url, `http://localhost:${bridge.port}`);
      const producer = await connect(bridge.url);
      producer.ws.send(JSON.stringify({ type: '@xstate.event', sessionId: 'x' }));
      await until(() => viewer.messages.length === 1, 'the relayed message');
      // A page opened later still sees what came before.
      const late = await connect(bridge.url, `http://127.0.0.1:${bridge.port}`);
      await until(() => late.messages.length === 1, 'the replayed message');
      // Nothing listens on the other interfaces.
      await assert.rejects(connect(`ws://[::1]:${bridge.port}`));
      for (const c of [viewer, producer, late]) c.ws.close();
    } finally {
      await bridge.close();
    }
  });

  describe('what is streamed', () => {
    let bridge: InspectorBridge;
    before(async () => {
      bridge = await startInspectorBridge(0);
    });
    after(() => bridge.close());

    it('has credential-like fields and values of contexts and events redacted, everything else as stored', async () => {
      const viewer = await connect(bridge.url, `http://127.0.0.1:${bridge.port}`);
      const { host, fire } = fakeHost();
      const { log } = capturingLogger();
      const inspection = await startLiveInspection(host, bridge.url, log, { allowRemote: false });
      assert.equal(inspection.streaming, true);
      try {
        const context = {
          ...mintInput,
          mintAttempt: 1,
          txHash: `0x${'9'.repeat(64)}`,
          ...SECRETS,
          signer: { keystore: { ciphertext: 'c1pher' }, credentials: { clientSecret: 'oauth-client-secret' } },
          failure: { code: 'rpc_unreachable', message: 'connect to https://user:pw@rpc.example/v2/rpc-key-000 failed' },
          note: 'Bearer operator-bearer-token-0002',
        };
        const stored = structuredClone(context);
        const event = { type: 'MINT_TX_SENT', txHash: `0x${'9'.repeat(64)}`, nonce: 3, signedTx: SECRETS.signedTx, headers: { Authorization: 'Bearer operator-bearer-token-0003' } };
        fire({
          flowId: 'mint-flow-1',
          definition: { type: 'mint', machine: mintMachine, version: MINT_MACHINE_VERSION },
          event,
          flow: { flowId: 'mint-flow-1', flowType: 'mint', seq: 2, state: 'minting.confirming', status: 'active', needsOperator: false,
      tags: [], snapshot: { value: { minting: 'confirming' }, context, status: 'active' }, machineVersion: MINT_MACHINE_VERSION, createdAt: '', updatedAt: '' },
        });
        await until(() => viewer.messages.some((m) => m.type === '@xstate.snapshot'), 'the snapshot');
        const stream = JSON.stringify(viewer.messages);
        for (const secret of [...Object.values(SECRETS), 'c1pher', 'oauth-client-secret', 'rpc-key-000', 'pw@', 'operator-bearer-token-0002', 'operator-bearer-token-0003']) {
          assert.ok(!stream.includes(secret), `${secret} reached the inspector`);
        }
        assert.deepEqual(context, stored, 'the stored snapshot is not touched');

        const actor = viewer.messages.find((m) => m.type === '@xstate.actor');
        const snapshot = viewer.messages.find((m) => m.type === '@xstate.snapshot');
        const streamedEvent = viewer.messages.find((m) => m.type === '@xstate.event');
        assert.equal(actor.sessionId, 'mint-flow-1');
        const definition = JSON.parse(actor.definition);
        assert.equal(definition.id, 'mint');
        assert.equal(definition.states.awaitingJournal.entry.type, 'xstate.raise', 'the Studio form of the machine');
        for (const ctx of [actor.snapshot.context, snapshot.snapshot.context]) {
          for (const key of Object.keys(SECRETS)) assert.equal(ctx[key], REDACTED, key);
          assert.deepEqual(ctx.signer, { keystore: REDACTED, credentials: REDACTED });
          assert.equal(ctx.note, REDACTED);
          assert.equal(ctx.failure.message, 'connect to https://rpc.example/[redacted] failed');
          // Domain fields stay readable, "token" in their names notwithstanding.
          for (const key of ['tokenizationRequestId', 'tokenSymbol', 'txHash', 'walletAddress', 'vaultAddress', 'amountUnits', 'qty', 'clientRef'] as const) {
            assert.deepEqual(ctx[key], context[key], key);
          }
        }
        assert.deepEqual(snapshot.snapshot.value, { minting: 'confirming' });
        for (const e of [streamedEvent.event, snapshot.event]) {
          assert.deepEqual(e, { type: 'MINT_TX_SENT', txHash: event.txHash, nonce: 3, signedTx: REDACTED, headers: { Authorization: REDACTED } });
        }
      } finally {
        inspection.stop();
        viewer.ws.close();
      }
    });
  });

  it("leaves the real flows' contexts whole: none of their fields is credential-like", () => {
    const contexts = [initialTransition(mintMachine, mintInput)[0].context, initialTransition(redemptionMachine, redemptionInput)[0].context];
    // Fields set later in a flow's life, with values of their real shape.
    const later = {
      txHash: `0x${'4'.repeat(64)}`,
      nonce: 5,
      receiptId: '12',
      blockNumber: 9,
      failure: { code: 'vault_refused', message: 'execution reverted' },
      tokenizationRequestId: 'alpaca-req-1',
      alpacaStatus: 'completed',
      burnTxHash: `0x${'5'.repeat(64)}`,
      receiptsUsed: [{ receiptId: '1', amountUnits: '10' }],
      returnTxHash: `0x${'6'.repeat(64)}`,
    };
    for (const context of contexts) {
      const full = { ...context, ...later };
      assert.deepEqual(sanitizeForInspection(full), full);
      for (const key of Object.keys(full)) assert.equal(isSecretName(key), false, key);
    }
    for (const key of ['privateKey', 'private_key', 'password', 'secret', 'clientSecret', 'token', 'accessToken', 'apiKey', 'X-API-KEY', 'authorization', 'signature', 'rawTx', 'signedTx', 'signedTransaction', 'mnemonic']) {
      assert.equal(isSecretName(key), true, key);
    }
  });
});
