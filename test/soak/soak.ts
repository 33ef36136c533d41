import path from 'node:path';
import { Contract, Wallet } from 'ethers';
import { decodeDepositLog, decodeReceiptInformation, decodeWithdrawLog } from '../../chain/vault';
import { execFile } from 'node:child_process';
import type { ChildService } from '../support/child-service';
import { type CrashHarness, startCrashHarness } from '../support/crash-harness';
import { tempDir } from '../support/service';
import type { DbVerdict } from './verify-db';

/**
 * Opens the child's SQLite file (after the child stopped) with persistence/database.ts `openDatabase` and
 * runs `verifySnapshots` and `checkViews` with FLOW_DEFINITIONS, in a process of its own so the check runs
 * the code the service last ran, not whatever this long-lived process loaded when it began.
 */
export function verifyDatabase(dataDir: string): Promise<DbVerdict> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(__dirname, 'verify-db.ts'), dataDir], { cwd: path.resolve(__dirname, '..', '..'), maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`database verification failed: ${stderr || err.message}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as DbVerdict);
      } catch (e) {
        reject(new Error(`database verification printed no verdict: ${stdout.slice(0, 500)} ${stderr.slice(0, 500)}`));
      }
    });
  });
}

/**
 * Crash-injection soak: the service runs as a child process on one data dir and is SIGKILLed again and
 * again (at a random moment, or at a named failpoint armed for the next start) while a driver plays
 * Alpaca (mint requests, journal confirms, some rejected) and the AP (share tokens sent to the
 * redemption wallet). At the end every flow must have settled, and the chain's own events and the fake
 * Alpaca's records must show no duplicate deposit, no duplicate burn, no callback without a mint and no
 * mint for a rejected journal; the journal must replay to the stored snapshots and the views to their rebuild.
 */

export interface SoakOptions {
  kills: number;
  seed: number;
  log?: (s: string) => void;
}

export interface SoakReport {
  seed: number;
  durationMs: number;
  /** Kills performed (each one a SIGKILL of the child, by us or by an armed failpoint). */
  kills: number;
  randomKills: number;
  /** The process killed itself at the armed failpoint (after it was listening). */
  crashPointKills: number;
  /** The process killed itself at the armed failpoint while starting (before it listened). */
  startupCrashPointKills: number;
  /** A failpoint was armed but not reached within the wait: killed at random instead. */
  crashPointFallbackKills: number;
  crashPointHits: Record<string, number>;
  restarts: number;

  mintsRequested: number;
  mintsAccepted: number;
  mintsConfirmedCompleted: number;
  mintsConfirmedRejected: number;
  mintRequestRetries: number;
  /** Accepted mint requests sent again on purpose (a duplicate delivery). */
  mintRequestRepeats: number;
  confirmRetries: number;
  redemptionsSent: number;
  /** Redeems created while the fake Alpaca was set to reject them. */
  alpacaRejectCycles: number;
  depositsOnChain: number;
  burnTxsOnChain: number;
  acceptedCallbacks: number;
  finalStates: Record<string, number>;
  operatorStates: Record<string, number>;

  // ---- must be 0 (clean) ----
  /** Accepted mints and sent redemption transfers whose flow is neither final nor tagged needsOperator. */
  acceptedNotSettled: number;
  /** Any flow in the journal neither final nor needsOperator (the database's own view, after stop). */
  flowsNotSettledInDb: number;
  duplicateDeposits: number;
  duplicateBurns: number;
  callbacksWithoutMint: number;
  mintsForRejectedJournal: number;
  replayMismatches: number;
  viewsDiffering: string[];
  /** A repeated mint request answered with another issuer_request_id than the first answer. */
  inconsistentMintAnswers: number;
  /** 4xx answers to requests the driver sent correctly (mint request, confirm). */
  unexpectedRefusals: number;
  /** Deposits on chain naming a tokenization request the driver never saw accepted. */
  depositsForUnknownRequests: number;
  /** An accepted callback whose tx_hash is not the request's deposit transaction. */
  callbackTxMismatches: number;
  /** A burn for a transfer whose Alpaca redeem is not completed. */
  burnsWithoutAlpacaCompletion: number;
  /** More than one redeem request created at Alpaca for one transfer. */
  duplicateAlpacaRedeems: number;
  /** Shares burnt for a transfer differ from its amount rounded down to 9 dp. */
  burnAmountMismatches: number;
  /** The child died without being killed (no SIGKILL from us or a failpoint). */
  unexpectedExits: number;

  // ---- reported, not failures ----
  /** Requests with more than one callback answered 200 (at-least-once delivery after a crash). */
  multipleAcceptedCallbacks: number;
  /** Operator states other than the ones the soak provokes on purpose (alpacaRejected). */
  unexpectedOperatorStates: number;
  /** Redemptions Alpaca completed that have no burn on chain (their flows are in operator states). */
  alpacaCompletedNotBurnt: number;

  clean: boolean;
  problems: string[];
  /** Every life of the child: how it was started and how it died (for reproducing a finding). */
  lives: Life[];
}

export interface Life {
  index: number;
  armed: string[];
  startedAt: string;
  endedAt?: string;
  /** `point:<name>`, `startup-point:<name>`, `random`, `fallback`, `unexpected`, `final`. */
  end?: string;
}

/** Counts that must be zero for the run to be clean. */
export const CLEAN_COUNTS = [
  'acceptedNotSettled',
  'flowsNotSettledInDb',
  'duplicateDeposits',
  'duplicateBurns',
  'callbacksWithoutMint',
  'mintsForRejectedJournal',
  'replayMismatches',
  'inconsistentMintAnswers',
  'unexpectedRefusals',
  'depositsForUnknownRequests',
  'callbackTxMismatches',
  'burnsWithoutAlpacaCompletion',
  'duplicateAlpacaRedeems',
  'burnAmountMismatches',
  'unexpectedExits',
] as const satisfies ReadonlyArray<keyof SoakReport>;

// ------------------------------------------------------------------ crash points

const MINT_EFFECTS = ['submitMintTransaction', 'awaitMintConfirmations', 'notifyAlpacaOfMint'];
const REDEMPTION_EFFECTS = ['requestRedemption', 'pollRedemption', 'submitBurn', 'awaitBurnConfirmations'];
const MINT_POINTS = [...MINT_EFFECTS.flatMap((e) => [`outbox.before.${e}`, `outbox.after.${e}`]), 'txmanager.afterPersist.mint', 'txmanager.afterBroadcast.mint'];
const REDEMPTION_POINTS = [...REDEMPTION_EFFECTS.flatMap((e) => [`outbox.before.${e}`, `outbox.after.${e}`]), 'txmanager.afterPersist.burn', 'txmanager.afterBroadcast.burn', 'poller.afterTransfer'];
export const CRASH_POINTS = ['host.beforeCommit', ...MINT_POINTS, ...REDEMPTION_POINTS];

// ------------------------------------------------------------------ PRNG

/** sfc32 seeded through splitmix32: small, fast, reproducible from one number. */
export function makeRng(seed: number): () => number {
  let s = (Math.floor(Math.abs(seed)) % 2 ** 32) ^ Math.floor(Math.abs(seed) / 2 ** 32);
  const splitmix = () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

// ------------------------------------------------------------------ helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const ONE = 10n ** 18n;
const NINE_DP = 10n ** 9n;

const units = (qty: string): bigint => {
  const [w, f = ''] = qty.split('.');
  return BigInt(w!) * ONE + BigInt((f + '0'.repeat(18)).slice(0, 18));
};

interface MintRec {
  trid: string;
  body: Record<string, unknown>;
  units: bigint;
  want: 'completed' | 'rejected';
  issuerRequestId?: string;
  /** The request got no answer (or a 5xx) and must be sent again with the same body. */
  requestPending: boolean;
  /** Hold the confirm for a later moment (Alpaca journals take time). */
  confirmAfterCycle: number;
  confirmAnswered: boolean;
  confirmSent: boolean;
}

interface RedemptionRec {
  txHash: string;
  logIndex: number;
  amount: bigint;
  flowId: string;
}

interface Cycle {
  index: number;
  dead: () => boolean;
}

function table(rows: Array<[string, string | number]>): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  const v = Math.max(...rows.map(([, x]) => String(x).length));
  const line = `+${'-'.repeat(w + 2)}+${'-'.repeat(v + 2)}+`;
  return [line, ...rows.map(([k, x]) => `| ${k.padEnd(w)} | ${String(x).padStart(v)} |`), line].join('\n');
}

export function formatReport(r: SoakReport): string {
  const fmt = (o: Record<string, number>) =>
    Object.entries(o)
      .sort()
      .map(([k, n]) => `${k}=${n}`)
      .join(' ') || '-';
  const rows: Array<[string, string | number]> = [
    ['seed', r.seed],
    ['duration', `${(r.durationMs / 1000).toFixed(1)} s`],
    ['kills (total)', r.kills],
    ['  random moment', r.randomKills],
    ['  at armed crash point', r.crashPointKills],
    ['  at crash point during start', r.startupCrashPointKills],
    ['  armed, not reached: random', r.crashPointFallbackKills],
    ['restarts', r.restarts],
    ['mints requested', r.mintsRequested],
    ['mints accepted (200)', r.mintsAccepted],
    ['  journals confirmed completed', r.mintsConfirmedCompleted],
    ['  journals confirmed rejected', r.mintsConfirmedRejected],
    ['mint request retries (no answer)', r.mintRequestRetries],
    ['accepted mint requests repeated', r.mintRequestRepeats],
    ['confirm retries', r.confirmRetries],
    ['redemption transfers sent', r.redemptionsSent],
    ['cycles with Alpaca rejecting redeems', r.alpacaRejectCycles],
    ['deposits on chain', r.depositsOnChain],
    ['burn transactions on chain', r.burnTxsOnChain],
    ['callbacks answered 200', r.acceptedCallbacks],
    ['MUST BE 0: accepted, not final/operator', r.acceptedNotSettled],
    ['MUST BE 0: flows in DB not final/operator', r.flowsNotSettledInDb],
    ['MUST BE 0: duplicate deposits', r.duplicateDeposits],
    ['MUST BE 0: duplicate burns', r.duplicateBurns],
    ['MUST BE 0: callbacks without a mint', r.callbacksWithoutMint],
    ['MUST BE 0: mints for rejected journals', r.mintsForRejectedJournal],
    ['MUST BE 0: replay mismatches', r.replayMismatches],
    ['MUST BE 0: views differing', r.viewsDiffering.length ? r.viewsDiffering.join(',') : 0],
    ['MUST BE 0: inconsistent mint answers', r.inconsistentMintAnswers],
    ['MUST BE 0: unexpected 4xx refusals', r.unexpectedRefusals],
    ['MUST BE 0: deposits for unknown requests', r.depositsForUnknownRequests],
    ['MUST BE 0: callback tx_hash mismatches', r.callbackTxMismatches],
    ['MUST BE 0: burns w/o Alpaca completion', r.burnsWithoutAlpacaCompletion],
    ['MUST BE 0: duplicate Alpaca redeems', r.duplicateAlpacaRedeems],
    ['MUST BE 0: burn amount mismatches', r.burnAmountMismatches],
    ['MUST BE 0: unexpected child exits', r.unexpectedExits],
    ['info: >1 accepted callback per request', r.multipleAcceptedCallbacks],
    ['info: unexpected operator states', r.unexpectedOperatorStates],
    ['info: Alpaca completed, not burnt', r.alpacaCompletedNotBurnt],
    ['clean', r.clean ? 'yes' : 'NO'],
  ];
  return [
    table(rows),
    `crash point hits: ${fmt(r.crashPointHits)}`,
    `final states: ${fmt(r.finalStates)}`,
    `operator states: ${fmt(r.operatorStates)}`,
    ...(r.problems.length ? ['problems:', ...r.problems.map((p) => `  - ${p}`)] : []),
  ].join('\n');
}

// ------------------------------------------------------------------ the soak

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const rng = makeRng(opts.seed);
  const rand = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
  const chance = (p: number) => rng() < p;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const uuid = () => {
    const b = Array.from({ length: 16 }, () => Math.floor(rng() * 256));
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = b.map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  const started = Date.now();
  const problems: string[] = [];
  const problem = (s: string) => {
    problems.push(s);
    log(`  ! ${s}`);
  };
  const report: SoakReport = {
    seed: opts.seed,
    durationMs: 0,
    kills: 0,
    randomKills: 0,
    crashPointKills: 0,
    startupCrashPointKills: 0,
    crashPointFallbackKills: 0,
    crashPointHits: {},
    restarts: 0,
    mintsRequested: 0,
    mintsAccepted: 0,
    mintsConfirmedCompleted: 0,
    mintsConfirmedRejected: 0,
    mintRequestRetries: 0,
    mintRequestRepeats: 0,
    confirmRetries: 0,
    redemptionsSent: 0,
    alpacaRejectCycles: 0,
    depositsOnChain: 0,
    burnTxsOnChain: 0,
    acceptedCallbacks: 0,
    finalStates: {},
    operatorStates: {},
    acceptedNotSettled: 0,
    flowsNotSettledInDb: 0,
    duplicateDeposits: 0,
    duplicateBurns: 0,
    callbacksWithoutMint: 0,
    mintsForRejectedJournal: 0,
    replayMismatches: 0,
    viewsDiffering: [],
    inconsistentMintAnswers: 0,
    unexpectedRefusals: 0,
    depositsForUnknownRequests: 0,
    callbackTxMismatches: 0,
    burnsWithoutAlpacaCompletion: 0,
    duplicateAlpacaRedeems: 0,
    burnAmountMismatches: 0,
    unexpectedExits: 0,
    multipleAcceptedCallbacks: 0,
    unexpectedOperatorStates: 0,
    alpacaCompletedNotBurnt: 0,
    clean: false,
    problems,
    lives: [],
  };

  const h: CrashHarness = await startCrashHarness();
  const dataDir = tempDir('issuance-soak-');
  log(`soak: seed ${opts.seed}, ${opts.kills} kills, data dir ${dataDir}, rpc ${h.chain.devnet.rpcUrl}`);
  const ap = new Wallet(h.chain.apAccount.privateKey, h.provider);
  const token = new Contract(h.chain.vault.vault, ['function transfer(address to, uint256 amount) returns (bool)', 'function balanceOf(address) view returns (uint256)'], ap);

  const mints = new Map<string, MintRec>();
  const redemptions: RedemptionRec[] = [];
  let redeemedUnits = 0n;
  let clientId = '';
  let rejectingRedeems = false;
  let svc: ChildService | undefined;

  const hit = (name: string) => (report.crashPointHits[name] = (report.crashPointHits[name] ?? 0) + 1);
  const failpointIn = (text: string) => /failpoint (\S+): SIGKILL/.exec(text)?.[1];

  // ---------- the driver: Alpaca and the AP ----------

  /** Sends (or re-sends, same body) one mint request. True when the service answered. */
  async function sendMintRequest(m: MintRec): Promise<boolean> {
    let res;
    try {
      res = await h.alpaca.requestMint(m.body);
    } catch {
      m.requestPending = true;
      return false;
    }
    if (res.status >= 500) {
      m.requestPending = true;
      return false;
    }
    m.requestPending = false;
    if (res.status !== 200) {
      report.unexpectedRefusals++;
      problem(`mint request ${m.trid} refused ${res.status} ${JSON.stringify(res.body)}`);
      if (m.issuerRequestId === undefined) mints.delete(m.trid);
      return true;
    }
    const irid = res.body.issuer_request_id as string;
    if (m.issuerRequestId === undefined) {
      m.issuerRequestId = irid;
      report.mintsAccepted++;
    } else if (m.issuerRequestId !== irid) {
      report.inconsistentMintAnswers++;
      problem(`mint request ${m.trid} answered ${irid}, first answer was ${m.issuerRequestId}`);
    }
    return true;
  }

  async function sendConfirm(m: MintRec): Promise<boolean> {
    if (m.confirmSent) report.confirmRetries++;
    m.confirmSent = true;
    let res;
    try {
      res = await h.alpaca.confirmMint(m.trid, m.issuerRequestId!, m.want);
    } catch {
      return false;
    }
    if (res.status >= 500) return false;
    m.confirmAnswered = true;
    if (res.status !== 200) {
      report.unexpectedRefusals++;
      problem(`confirm ${m.want} of ${m.trid} refused ${res.status} ${JSON.stringify(res.body)}`);
      return true;
    }
    if (m.want === 'completed') report.mintsConfirmedCompleted++;
    else report.mintsConfirmedRejected++;
    return true;
  }

  async function newMint(cycle: number, confirmNow: boolean, want?: 'completed' | 'rejected'): Promise<MintRec> {
    const trid = uuid();
    const qty = `${rand(1, 20)}${chance(0.6) ? `.${String(rand(1, 999)).padStart(3, '0')}` : ''}`;
    const m: MintRec = {
      trid,
      body: { tokenization_request_id: trid, qty, underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: h.chain.apAccount.address, client_external_account_id: clientId },
      units: units(qty),
      want: want ?? (chance(0.15) ? 'rejected' : 'completed'),
      requestPending: true,
      confirmAfterCycle: confirmNow ? cycle : cycle + rand(0, 2),
      confirmAnswered: false,
      confirmSent: false,
    };
    mints.set(trid, m);
    report.mintsRequested++;
    if ((await sendMintRequest(m)) && m.issuerRequestId && m.confirmAfterCycle <= cycle) await sendConfirm(m);
    return m;
  }

  /** Shares the AP may redeem: what minted flows have called back for (so the receipts are on record), less what it sent. */
  function redeemBudget(): bigint {
    const called = new Set(h.alpaca.callbacks.filter((c) => c.status === 200).map((c) => c.body?.tokenization_request_id as string));
    let minted = 0n;
    for (const m of mints.values()) if (called.has(m.trid)) minted += m.units;
    return minted - redeemedUnits;
  }

  async function newRedemption(): Promise<boolean> {
    const budget = redeemBudget();
    if (budget < ONE / 100n) return false;
    const cap = budget < 10n * ONE ? budget : 10n * ONE;
    // Whole micro-shares, sometimes with a remainder below 1e-9 (dust stays in the redemption wallet).
    let amount = (BigInt(Math.floor(rng() * 1e9)) * cap) / 1_000_000_000n;
    amount -= amount % 10n ** 12n;
    if (amount < 10n ** 12n) amount = 10n ** 12n;
    if (chance(0.15)) amount += BigInt(rand(1, 999_999_999));
    if (amount > budget) amount = budget;
    redeemedUnits += amount;
    const tx = await token.getFunction('transfer')(h.chain.issuerAddress, amount);
    const receipt = await tx.wait();
    const log0 = receipt!.logs.find((l: any) => l.address.toLowerCase() === h.chain.vault.vault.toLowerCase());
    const logIndex = log0!.index as number;
    redemptions.push({ txHash: receipt!.hash, logIndex, amount, flowId: `redemption:base:${receipt!.hash}:${logIndex}` });
    report.redemptionsSent++;
    await h.provider.send('anvil_mine', [`0x${rand(1, 2).toString(16)}`]);
    return true;
  }

  /** Everything Alpaca owes the issuer: unanswered mint requests, due or unanswered confirms. */
  async function retryPending(c: Cycle): Promise<void> {
    for (const m of [...mints.values()]) {
      if (c.dead()) return;
      if (m.requestPending) {
        report.mintRequestRetries++;
        if (!(await sendMintRequest(m))) continue;
      }
      if (c.dead()) return;
      if (m.issuerRequestId && !m.confirmAnswered && m.confirmAfterCycle <= c.index) await sendConfirm(m);
    }
  }

  const isMintPoint = (p: string) => MINT_POINTS.includes(p);
  const isRedemptionPoint = (p: string) => REDEMPTION_POINTS.includes(p);

  async function drive(c: Cycle, armed: string[]): Promise<void> {
    try {
      // Work that reaches the armed point, first.
      if (armed.some(isRedemptionPoint) && !c.dead()) {
        if (!(await newRedemption()) && !c.dead()) await newMint(c.index, true);
      }
      if (armed.some(isMintPoint) && !c.dead()) {
        await newMint(c.index, true, 'completed'); // a mint point needs a mint
      }
      while (!c.dead()) {
        await retryPending(c);
        if (c.dead()) break;
        if (chance(0.3)) await newMint(c.index, chance(0.8));
        if (c.dead()) break;
        if (chance(0.25)) await newRedemption();
        if (c.dead()) break;
        if (chance(0.1)) {
          // Alpaca delivers a mint request twice: the repeat must get the first answer.
          const accepted = [...mints.values()].filter((m) => m.issuerRequestId && !m.requestPending);
          if (accepted.length) {
            report.mintRequestRepeats++;
            await sendMintRequest(pick(accepted));
          }
        }
        if (chance(0.15)) await h.provider.send('anvil_mine', ['0x1']);
        await sleep(rand(30, 250));
      }
    } catch (err) {
      problem(`driver error in cycle ${c.index}: ${(err as Error).stack ?? String(err)}`);
    }
  }

  /** Starts the child; a death at the armed failpoint before it listens is one kill. */
  async function start(armed: string[]): Promise<ChildService | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await h.spawn(dataDir, armed.length ? armed.join(',') : undefined);
      } catch (err) {
        const msg = (err as Error).message;
        const point = failpointIn(msg);
        if (point && armed.length) {
          report.lives.push({ index: report.lives.length, armed, startedAt: new Date().toISOString(), endedAt: new Date().toISOString(), end: `startup-point:${point}` });
          hit(point);
          report.kills++;
          report.startupCrashPointKills++;
          return undefined;
        }
        problem(`service failed to start (attempt ${attempt + 1}): ${msg.slice(0, 2000)}`);
        if (attempt >= 2) throw err;
        await sleep(1000);
      }
    }
  }

  /** One life of the child, ended by a SIGKILL. */
  async function cycle(index: number, setup?: (s: ChildService) => Promise<void>): Promise<void> {
    const pointMode = !setup && chance(0.5);
    const armed = pointMode ? (chance(0.15) ? [pick(CRASH_POINTS), pick(CRASH_POINTS)] : [pick(CRASH_POINTS)]) : [];
    rejectingRedeems = chance(0.1);
    if (rejectingRedeems) report.alpacaRejectCycles++;
    h.alpaca.behaviour.redeemOutcome = rejectingRedeems ? 'rejected' : 'completed';
    h.alpaca.behaviour.redeemCompletesAfterMs = chance(0.5) ? 0 : rand(100, 1500);
    const randomDelay = rand(30, 2500);
    const pointWait = 3000;
    const fallbackDelay = rand(0, 1000);

    const s = await start(armed);
    report.restarts++;
    if (!s) return;
    svc = s;
    const life: Life = { index, armed, startedAt: new Date().toISOString() };
    report.lives.push(life);
    let dead = false;
    let killedByUs = false;
    const exited = s.exited.then((r) => {
      dead = true;
      life.endedAt = new Date().toISOString();
      return r;
    });
    const c: Cycle = { index, dead: () => dead };
    if (setup) await setup(s);
    const waitOrDeath = (ms: number) => Promise.race([sleep(ms), exited]);
    let fallback = false;
    const killer = (async () => {
      if (!pointMode) {
        await waitOrDeath(randomDelay);
      } else {
        await waitOrDeath(pointWait);
        if (dead) return;
        fallback = true;
        await waitOrDeath(fallbackDelay);
      }
      if (dead) return;
      killedByUs = true;
      await s.kill('SIGKILL');
    })();
    const driving = drive(c, armed);
    const exit = await exited;
    await killer;
    await driving;
    svc = undefined;
    report.kills++;
    const point = failpointIn(s.stderr());
    life.end = point ? `point:${point}` : killedByUs ? (fallback ? 'fallback' : 'random') : 'unexpected';
    if (point) {
      hit(point);
      report.crashPointKills++;
      if (killedByUs) problem(`cycle ${index}: failpoint ${point} and our kill both claimed the exit`);
    } else if (killedByUs) {
      if (fallback) report.crashPointFallbackKills++;
      else report.randomKills++;
    } else {
      report.unexpectedExits++;
      problem(`cycle ${index}: child exited by itself (${exit.code ?? exit.signal}) with armed=[${armed.join(',')}]: ${s.stderr().slice(-3000)}`);
    }
  }

  try {
    // The first life seeds the registry (AP, asset, link) and lets the poller take its first look at the vault.
    let index = 0;
    while (report.kills < opts.kills) {
      const first = index === 0;
      await cycle(
        index,
        first
          ? async (s) => {
              clientId = await h.seed(s, 'soak@ap.example');
              await sleep(1000);
              await newMint(0, true);
            }
          : undefined,
      );
      index++;
      if (index % 10 === 0 || report.kills >= opts.kills) {
        log(`  kill ${report.kills}/${opts.kills} after ${((Date.now() - started) / 1000).toFixed(0)} s: ${report.mintsAccepted} mints, ${report.redemptionsSent} redemptions, ${report.crashPointKills + report.startupCrashPointKills} at crash points`);
      }
    }

    // ---------- the end: service up, nothing armed; Alpaca delivers what it owes; every flow settles ----------
    h.alpaca.behaviour.redeemOutcome = 'completed';
    h.alpaca.behaviour.redeemCompletesAfterMs = 0;
    const final = await start([]);
    report.restarts++;
    svc = final!;
    let finalDead = false;
    void final!.exited.then(() => (finalDead = true));
    const endCycle: Cycle = { index: Number.MAX_SAFE_INTEGER, dead: () => finalDead };
    for (let i = 0; i < 50; i++) {
      await retryPending(endCycle);
      const owed = [...mints.values()].filter((m) => m.requestPending || (m.issuerRequestId && !m.confirmAnswered));
      if (!owed.length || finalDead) break;
      await sleep(200);
    }

    const expected = [...[...mints.values()].filter((m) => m.issuerRequestId).map((m) => `mint:${m.trid}`), ...redemptions.map((r) => r.flowId)];
    const settled = new Map<string, { state: string; needsOperator: boolean; status: string }>();
    const deadline = Date.now() + 180_000;
    let lastMine = 0;
    while (!finalDead && Date.now() < deadline) {
      for (const flowId of expected) {
        if (settled.has(flowId)) continue;
        const res = await h.operator(final!, 'GET', `/operator/flows/${encodeURIComponent(flowId)}`).catch(() => undefined);
        const f = res?.status === 200 ? res.body.flow : undefined;
        if (f && (f.status === 'done' || f.needsOperator)) settled.set(flowId, { state: f.state, needsOperator: Boolean(f.needsOperator), status: f.status });
      }
      if (settled.size === expected.length) break;
      if (Date.now() - lastMine > 1000) {
        await h.provider.send('anvil_mine', ['0x1']);
        lastMine = Date.now();
      }
      await sleep(250);
    }
    // The list endpoint's view (most recent 500) as a cross-check.
    const listed = await h.operator(final!, 'GET', '/operator/flows?limit=500').catch(() => undefined);
    for (const f of listed?.body?.flows ?? []) if (f.status !== 'done' && !f.needs_operator) problem(`GET /operator/flows lists ${f.flow_id} in ${f.state} (${f.status})`);

    for (const flowId of expected) {
      const s = settled.get(flowId);
      if (!s) {
        report.acceptedNotSettled++;
        const res = await h.operator(final!, 'GET', `/operator/flows/${encodeURIComponent(flowId)}`).catch((e) => ({ status: 0, body: String(e) }));
        const f = res.body?.flow;
        problem(`not settled: ${flowId} ${f ? `in ${f.state} (${f.status}); outbox ${JSON.stringify(res.body.outbox?.map((o: any) => [o.type, o.status, o.attempts, o.last_error]))}` : `(${res.status} ${JSON.stringify(res.body).slice(0, 300)})`}`);
        continue;
      }
      const bucket = s.needsOperator ? report.operatorStates : report.finalStates;
      const key = `${flowId.split(':')[0]}.${s.state}`;
      bucket[key] = (bucket[key] ?? 0) + 1;
    }
    // Operator states, with what the flow recorded as the reason (judged against Alpaca's records below).
    const operatorFailures = new Map<string, { failure: unknown; journal: string[]; outbox: string[] }>();
    for (const [flowId, s] of settled) {
      if (!s.needsOperator) continue;
      const res = await h.operator(final!, 'GET', `/operator/flows/${encodeURIComponent(flowId)}`).catch(() => undefined);
      operatorFailures.set(flowId, { failure: res?.body?.flow?.snapshot?.context?.failure ?? null, journal: (res?.body?.journal ?? []).map((e: any) => `${e.recordedAt} #${e.seq} ${e.type}`), outbox: (res?.body?.outbox ?? []).map((o: any) => `${o.type}:${o.status}:${o.attempts}${o.last_error ? `:${String(o.last_error).slice(0, 120)}` : ''}`) });
    }
    if (finalDead) {
      report.unexpectedExits++;
      problem(`the final service died: ${final!.stderr().slice(-3000)}`);
    }
    await final!.kill('SIGTERM');
    svc = undefined;

    // ---------- evidence: the chain's events ----------
    const logs = await h.provider.getLogs({ address: h.chain.vault.vault, fromBlock: 0, toBlock: 'latest' });
    const depositTxs = new Map<string, string[]>();
    const burnTxs = new Map<string, Map<string, bigint>>();
    for (const l of logs) {
      const d = decodeDepositLog(l, h.chain.vault.vault);
      if (d) {
        const trid = decodeReceiptInformation(d.receiptInformation)?.tokenization_request_id ?? '(none)';
        depositTxs.set(trid, [...(depositTxs.get(trid) ?? []), d.txHash]);
        continue;
      }
      const w = decodeWithdrawLog(l, h.chain.vault.vault);
      if (w) {
        const transfer = (decodeReceiptInformation(w.receiptInformation)?.tokenization_request_id ?? '(none)').toLowerCase();
        const byTx = burnTxs.get(transfer) ?? new Map<string, bigint>();
        byTx.set(w.txHash, (byTx.get(w.txHash) ?? 0n) + w.shares);
        burnTxs.set(transfer, byTx);
      }
    }
    report.depositsOnChain = [...depositTxs.values()].reduce((n, xs) => n + xs.length, 0);
    report.burnTxsOnChain = [...burnTxs.values()].reduce((n, xs) => n + xs.size, 0);
    for (const [trid, txs] of depositTxs) {
      const m = mints.get(trid);
      if (txs.length > 1) {
        report.duplicateDeposits += txs.length - 1;
        problem(`duplicate deposits for ${trid}: ${txs.join(', ')}`);
      }
      if (!m || !m.issuerRequestId) {
        report.depositsForUnknownRequests++;
        problem(`deposit for unknown tokenization request ${trid}`);
      } else if (m.want === 'rejected') {
        report.mintsForRejectedJournal++;
        problem(`mint for rejected journal ${trid}: ${txs.join(', ')}`);
      }
    }
    const byTransfer = new Map(redemptions.map((r) => [r.txHash.toLowerCase(), r]));
    const alpacaRedeems = new Map<string, string[]>();
    for (const r of h.alpaca.redeemRequests()) {
      const k = String(r.tx_hash).toLowerCase();
      alpacaRedeems.set(k, [...(alpacaRedeems.get(k) ?? []), r.status]);
    }
    for (const [transfer, statuses] of alpacaRedeems) {
      if (statuses.length > 1) {
        report.duplicateAlpacaRedeems += statuses.length - 1;
        problem(`${statuses.length} redeem requests at Alpaca for transfer ${transfer}: ${statuses.join(',')}`);
      }
    }
    for (const [flowId, failure] of operatorFailures) {
      const s = settled.get(flowId)!;
      const r = redemptions.find((x) => x.flowId === flowId);
      // Alpaca rejected the redeem on purpose (the soak's rejecting cycles): alpacaRejected is the designed answer.
      if (r && s.state === 'alpacaRejected' && (alpacaRedeems.get(r.txHash.toLowerCase()) ?? []).includes('rejected')) continue;
      report.unexpectedOperatorStates++;
      log(`  note: ${flowId} in operator state ${s.state}: ${JSON.stringify(failure.failure)}`);
      for (const j of failure.journal) log(`      ${j}`);
      log(`      outbox: ${failure.outbox.join(' | ')}`);
      const first = failure.journal[0]?.slice(0, 24) ?? '';
      const last = failure.journal[failure.journal.length - 1]?.slice(0, 24) ?? '';
      for (const l of report.lives) if ((l.endedAt ?? '9') >= first && l.startedAt <= last) log(`      life ${l.index} ${l.startedAt}..${l.endedAt ?? ''} armed=[${l.armed.join(',')}] end=${l.end ?? ''}`);
    }
    for (const [transfer, txs] of burnTxs) {
      const r = byTransfer.get(transfer);
      if (txs.size > 1) {
        report.duplicateBurns += txs.size - 1;
        problem(`duplicate burns for transfer ${transfer}: ${[...txs.keys()].join(', ')}`);
      }
      if (!(alpacaRedeems.get(transfer) ?? []).includes('completed')) {
        report.burnsWithoutAlpacaCompletion++;
        problem(`burn for transfer ${transfer} without a completed Alpaca redeem (${(alpacaRedeems.get(transfer) ?? []).join(',') || 'none'})`);
      }
      const expectedBurn = r ? r.amount - (r.amount % NINE_DP) : undefined;
      for (const [tx, shares] of txs) {
        if (shares !== expectedBurn) {
          report.burnAmountMismatches++;
          problem(`burn ${tx} for transfer ${transfer} burnt ${shares}, expected ${expectedBurn}`);
        }
      }
    }
    for (const r of redemptions) {
      if ((alpacaRedeems.get(r.txHash.toLowerCase()) ?? []).includes('completed') && !burnTxs.has(r.txHash.toLowerCase())) report.alpacaCompletedNotBurnt++;
    }

    // ---------- evidence: the fake Alpaca's records ----------
    const accepted = h.alpaca.callbacks.filter((c) => c.status === 200);
    report.acceptedCallbacks = accepted.length;
    const callbacksPer = new Map<string, string[]>();
    for (const c of accepted) {
      const trid = String(c.body?.tokenization_request_id);
      callbacksPer.set(trid, [...(callbacksPer.get(trid) ?? []), String(c.body?.tx_hash)]);
    }
    for (const [trid, hashes] of callbacksPer) {
      const deposits = depositTxs.get(trid) ?? [];
      if (!deposits.length) {
        report.callbacksWithoutMint++;
        problem(`callback accepted for ${trid}, which has no deposit on chain`);
      }
      if (hashes.length > 1) report.multipleAcceptedCallbacks++;
      for (const hash of hashes) {
        if (deposits.length && !deposits.some((d) => d.toLowerCase() === hash.toLowerCase())) {
          report.callbackTxMismatches++;
          problem(`callback for ${trid} carries ${hash}, deposits are ${deposits.join(', ')}`);
        }
      }
    }

    // ---------- evidence: the journal replays to the snapshots, the views to their rebuild ----------
    const verdict = await verifyDatabase(dataDir);
    report.replayMismatches = verdict.mismatches.length;
    for (const mm of verdict.mismatches.slice(0, 5)) problem(`replay mismatch ${mm.flowId}: stored ${JSON.stringify(mm.stored).slice(0, 400)} replayed ${JSON.stringify(mm.replayed).slice(0, 400)}`);
    report.viewsDiffering = verdict.viewsDiffering;
    if (verdict.viewsDiffering.length) problem(`views differ from their rebuild: ${verdict.viewsDiffering.join(', ')}`);
    const expectedSet = new Set(expected);
    report.flowsNotSettledInDb = verdict.unsettled.length;
    for (const row of verdict.unsettled) if (!expectedSet.has(row.flow_id)) problem(`flow ${row.flow_id} in ${row.state} (${row.status}) is not settled`);
    log(`  journal: ${verdict.flows} flows, ${verdict.events} events replayed; ${verdict.viewTables} view tables rebuilt`);
  } finally {
    if (svc) await svc.kill('SIGKILL').catch(() => undefined);
    await h.close();
  }

  report.durationMs = Date.now() - started;
  report.clean = CLEAN_COUNTS.every((k) => report[k] === 0) && report.viewsDiffering.length === 0 && report.kills >= opts.kills;
  log(formatReport(report));
  return report;
}
