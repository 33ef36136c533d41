import { mintFlowId } from '../../core/flow-ids';
import { waitFor } from '../support/wait-for';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import type { EffectAdapter } from '../../runtime/effect-adapter';
import type { MintInput } from '../../machines/mint';
import type { RedemptionInput } from '../../machines/redemption';
import { mintDefinition } from '../../server/flows/mint';
import { redemptionDefinition } from '../../server/flows/redemption';
import type { FlowModule } from '../../server/service';
import { startTestService, type TestService } from '../support/service';
import { testDatabaseEnv } from '../support/test-database';

/**
 * The real mint and redemption machines, views and projections, with effects played by fakes: the
 * operator API and the CLI see real flows, and a test decides when an effect succeeds or fails.
 */
export interface EffectScript {
  /** Mint callbacks still to fail (each failure is one attempt). */
  callbackFailures: number;
  /** Mint submissions still to fail: the flow waits in `minting.submitting` meanwhile. */
  submitFailures?: number;
}

/** An hour between attempts: an effect in backoff stays there until a test (or an operator) brings it forward. */
const LONG_BACKOFF = { baseMs: 3_600_000, capMs: 3_600_000, maxAttempts: 3 };

export function fakeMintModule(script: EffectScript): FlowModule {
  const submit: EffectAdapter = {
    retry: LONG_BACKOFF,
    async run(params) {
      if (script.submitFailures) {
        script.submitFailures--;
        throw new Error('node unreachable');
      }
      return { type: 'MINT_TX_SENT', txHash: txHash(params.intentId), nonce: 1 };
    },
    failed: (e) => ({ type: 'MINT_SUBMISSION_FAILED', code: 'test', message: e.message }),
  };
  const confirm: EffectAdapter = {
    retry: LONG_BACKOFF,
    run: async (params) => ({ type: 'MINT_CONFIRMED', txHash: params.txHash, receiptId: String(BigInt(`0x${params.txHash.slice(2, 10)}`)), blockNumber: 7 }),
    failed: (e) => ({ type: 'MINT_SUBMISSION_FAILED', code: 'test', message: e.message }),
  };
  const callback: EffectAdapter = {
    retry: LONG_BACKOFF,
    async run() {
      if (script.callbackFailures > 0) {
        script.callbackFailures--;
        throw new Error('Alpaca answered 503');
      }
      return { type: 'CALLBACK_ACKNOWLEDGED' };
    },
    failed: (e) => ({ type: 'CALLBACK_FAILED', code: 'alpaca_unavailable', message: e.message }),
  };
  return { definition: mintDefinition, effects: () => ({ submitMintTransaction: submit, awaitMintConfirmations: confirm, notifyAlpacaOfMint: callback }) };
}

/** Redemptions whose call to Alpaca never succeeds (it sits in backoff), so a test can supersede it. */
export function fakeRedemptionModule(): FlowModule {
  const request: EffectAdapter = {
    retry: LONG_BACKOFF,
    run: async () => {
      throw new Error('Alpaca unreachable');
    },
    failed: (e) => ({ type: 'REDEEM_FAILED', code: 'alpaca_unavailable', message: e.message }),
  };
  return { definition: redemptionDefinition, effects: () => ({ requestRedemption: request }) };
}

const txHash = (seed: string) => `0x${crypto.createHash('sha256').update(seed).digest('hex')}`;

export const VAULT = '0x' + '5a'.repeat(20);

export function mintInput(over: Partial<MintInput> & { tokenSymbol: string; underlyingSymbol: string }): MintInput {
  const trid = over.tokenizationRequestId ?? crypto.randomUUID();
  return {
    tokenizationRequestId: trid,
    issuerRequestId: crypto.randomUUID(),
    requestHash: txHash(trid).slice(2),
    apId: '01HZZZZZZZZZZZZZZZZZZZZZZZ',
    clientRef: { client_external_account_id: '01HZZZZZZZZZZZZZZZZZZZZZZZ' },
    assetId: '01HASSETASSETASSETASSETASS',
    network: 'base',
    vaultAddress: VAULT,
    decimals: 18,
    walletAddress: '0x' + '1b'.repeat(20),
    qty: '2.5',
    amountUnits: '2500000000000000000',
    // A day: no test here waits for the journal deadline.
    journalTimeoutMs: 86_400_000,
    ...over,
  };
}

export function redemptionInput(over: Partial<RedemptionInput> & { tokenSymbol: string; underlyingSymbol: string }): RedemptionInput {
  return {
    network: 'base',
    txHash: txHash(crypto.randomUUID()),
    logIndex: 0,
    blockNumber: 10,
    sender: '0x' + '2c'.repeat(20),
    amountUnits: '1000000000000000000',
    assetId: '01HASSETASSETASSETASSETASS',
    vaultAddress: VAULT,
    decimals: 18,
    apId: null,
    clientRef: null,
    assetHalted: false,
    earlierFlowState: null,
    qty: '1',
    qtyUnits: '1000000000000000000',
    dustUnits: '0',
    pollIntervalMs: 60_000,
    alpacaDeadlineMs: 86_400_000,
    ...over,
  };
}

export const redemptionFlowId = (i: RedemptionInput) => `redemption:${i.network}:${i.txHash}:${i.logIndex}`;

/** A service running the fake-effect flows, with a named operator besides the default token. */
export async function startOperatorService(script: EffectScript, operators: Record<string, string>): Promise<TestService> {
  return startTestService({ modules: [fakeMintModule(script), fakeRedemptionModule()], config: { operators: new Map(Object.entries(operators)) } });
}

export async function startMint(svc: TestService, input: MintInput): Promise<string> {
  const flowId = mintFlowId(input.tokenizationRequestId);
  await svc.host.start('mint', flowId, input);
  return flowId;
}

export async function startRedemption(svc: TestService, input: RedemptionInput): Promise<string> {
  const flowId = redemptionFlowId(input);
  await svc.host.start('redemption', flowId, input);
  return flowId;
}

export async function waitForState(svc: TestService, flowId: string, state: string): Promise<void> {
  await waitFor(`${flowId} to reach ${state}`, async () => (await svc.host.get(flowId))?.state === state);
}

export const operatorToken = () => crypto.randomBytes(24).toString('hex');

const REPO = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO, 'cli', 'bin.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json: () => any;
}

/**
 * Runs `issuance-bot` as an operator would, in a child process, with only the environment given (plus
 * PATH/HOME and, on the PostgreSQL run, the test database of `dataDir`). Asynchronous: the service
 * under test lives in this process and must keep answering while the CLI runs.
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, dataDir?: string): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...(dataDir ? { DATA_DIR: dataDir, ...testDatabaseEnv(dataDir) } : {}) };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: REPO, env: childEnv, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : -1) : 0;
      const out = { code, stdout, stderr, json: () => JSON.parse(stdout) };
      transcript.push(stdout, stderr);
      resolve(out);
    });
  });
}

/** Everything the CLI printed in this run of the suite (a test checks no token ever appears in it). */
export const transcript: string[] = [];
