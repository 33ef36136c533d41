import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type FakeAlpaca, startFakeAlpaca } from '../alpaca/fake-alpaca';
import { type SandboxChain, startSandboxChain } from '../chain/sandbox-chain';
import { spawnListening } from '../test/support/child-service';
import { waitFor } from '../test/support/wait-for';
import type { Figure, Section, SectionResult } from './report';
import { summarize } from './stats';

/**
 * Section 5: the same mint run by issuance-bot and by a DBOS Transact app (bench/peer/dbos-issuer.ts),
 * one after the other on the same PostgreSQL server, devnet and fake Alpaca, each as its own child
 * process, driven by the same code: W clients, each playing Alpaca for one mint at a time (request,
 * journal confirm, then wait for the mint callback) until N mints are done. Rounds alternate which
 * engine goes first; the figures are medians over rounds.
 */
const TITLE = '5. peer: issuance-bot vs DBOS Transact (PostgreSQL)';
const ROOT = path.resolve(__dirname, '..');
const DBOS_VERSION: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@dbos-inc/dbos-sdk/package.json'), 'utf8')).version;
/**
 * Each engine gets its own database on the server, created empty before each run and dropped after:
 * alike for both, and PostgreSQL's per-database counters then tell each engine's transactions and row
 * writes apart from anything else running on the server. The pid keeps two bench runs apart.
 */
const SERVICE_DATABASE = `bench_peer_issuance_bot_${process.pid}`;
const DBOS_DATABASE = `bench_peer_dbos_system_${process.pid}`;
/** PEER_BENCH_CPU_PROF=<dir>: both engines' processes write V8 CPU profiles there when they stop (to see what bounds them). */
const profiling = (): string[] => (process.env.PEER_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.PEER_BENCH_CPU_PROF)}`] : []);

type Engine = 'issuance-bot' | 'DBOS Transact';

interface Sizes {
  mints: number;
  width: number;
  rounds: number;
  /** Mints per run before the clock starts (JIT, connection pools), not counted. */
  warmup: number;
}

interface RunResult {
  engine: Engine;
  round: number;
  completedPerSec: number;
  endToEndMs: ReturnType<typeof summarize>;
  /** CPU time of the engine's process (user + system) per measured mint. */
  cpuMsPerMint: number;
  /** Committed transactions and rows inserted/updated/deleted in the engine's database, per measured mint (background work included). */
  transactionsPerMint: number;
  rowWritesPerMint: number;
  wallSeconds: number;
}

/** What both engines are given: the same chain, the same fake Alpaca and the secrets between them. */
interface World {
  postgresUrl: string;
  chain: SandboxChain;
  alpaca: FakeAlpaca;
  inboundApiKey: string;
  alpacaAccountId: string;
  alpacaCredentials: { keyId: string; secret: string };
  dataDir: string;
  close(): Promise<void>;
}

/** A deployed engine the driver can send mints to and ask how many mint flows have completed. */
interface Deployment {
  url: string;
  pid: number;
  clientId: string;
  /** The engine's own database (its counters are read around the measured mints). */
  database: string;
  completedMints(): Promise<number>;
  /** How many transactions the driver's own completion polling ran on that database. */
  readonly monitorQueries: number;
  /** Stops the process (SIGTERM: both shut down cleanly) and closes the driver's connection. */
  stop(): Promise<void>;
}

export const run: Section = async (options): Promise<SectionResult> => {
  if (!options.postgresUrl) return { id: 'peer', title: TITLE, figures: [], skipped: 'no PostgreSQL server reachable' };
  const sizes: Sizes = options.quick
    ? { mints: 10, width: 4, rounds: 1, warmup: 4 }
    : { mints: Number(process.env.PEER_BENCH_MINTS ?? 100), width: Number(process.env.PEER_BENCH_WIDTH ?? 16), rounds: Number(process.env.PEER_BENCH_ROUNDS ?? 3), warmup: 16 };

  const loadBefore = os.loadavg()[0]!;
  const world = await startWorld(options.postgresUrl);
  const results: RunResult[] = [];
  try {
    for (let round = 0; round < sizes.rounds; round++) {
      const order: Engine[] = round % 2 === 0 ? ['issuance-bot', 'DBOS Transact'] : ['DBOS Transact', 'issuance-bot'];
      for (const engine of order) {
        let r: RunResult;
        try {
          r = await runOnce(world, engine, sizes, round);
        } catch (err) {
          // The peer failing here is a finding, not a crash of the bench: say exactly what failed.
          if (engine !== 'DBOS Transact') throw err;
          const message = err instanceof Error ? err.message : String(err);
          return { id: 'peer', title: TITLE, figures: [], skipped: `DBOS Transact ${DBOS_VERSION} could not run: ${message.slice(0, 600)}`, details: { runs: results } };
        }
        results.push(r);
        options.progress(
          `peer round ${round + 1}/${sizes.rounds} ${engine}: ${r.completedPerSec.toFixed(1)} completed mints/s, p50 ${r.endToEndMs.median.toFixed(0)} ms, p95 ${r.endToEndMs.p95.toFixed(0)} ms, ${r.cpuMsPerMint.toFixed(1)} CPU ms, ${r.transactionsPerMint.toFixed(1)} transactions, ${r.rowWritesPerMint.toFixed(1)} row writes per mint`,
        );
      }
    }
  } finally {
    await world.close();
  }

  const median = (engine: Engine, pick: (r: RunResult) => number) => summarize(results.filter((r) => r.engine === engine).map(pick)).median;
  const bot = { perSec: median('issuance-bot', (r) => r.completedPerSec), p50: median('issuance-bot', (r) => r.endToEndMs.median) };
  const dbos = { perSec: median('DBOS Transact', (r) => r.completedPerSec), p50: median('DBOS Transact', (r) => r.endToEndMs.median) };
  const figures: Figure[] = [
    {
      name: `completed mints/s, issuance-bot (${sizes.mints} mints, ${sizes.width} clients)`,
      value: bot.perSec,
      unit: 'mints/s',
      baseline: { name: `DBOS Transact ${DBOS_VERSION}`, value: dbos.perSec },
      ratioTarget: { op: '>=', value: 1.5 },
      note: `median of ${sizes.rounds} round(s); first request to last flow completed`,
    },
    {
      name: `p50 mint request → callback, issuance-bot (${sizes.width} clients)`,
      value: bot.p50,
      unit: 'ms',
      baseline: { name: `DBOS Transact ${DBOS_VERSION}`, value: dbos.p50 },
      ratioTarget: { op: '<=', value: 1 },
      note: 'lower is better; median over rounds of each run’s p50',
    },
  ];
  return {
    id: 'peer',
    title: TITLE,
    figures,
    details: {
      mints: sizes.mints,
      width: sizes.width,
      rounds: sizes.rounds,
      warmupMintsPerRun: sizes.warmup,
      // Other work on the machine slows both engines; the 1-minute load average says how busy it was.
      loadAverage: { before: loadBefore, after: os.loadavg()[0]! },
      dbosVersion: DBOS_VERSION,
      databases: `each engine its own database on the same server, created empty before each run and dropped after: issuance-bot ${SERVICE_DATABASE} (its tables in public), DBOS ${DBOS_DATABASE} (its system database, schema dbos)`,
      method: [
        'Both engines run as a child process started the same way (node --import tsx <entry>), one at a time, on the same PostgreSQL server, anvil devnet (automine), fake Alpaca and issuer key.',
        `W clients each play Alpaca for one mint at a time: POST /tokenization/mint, POST /tokenization/mint/confirm (completed), then wait until the fake Alpaca has answered the mint callback 200; the per-mint time is that span. Throughput is measured mints / (first request → last mint flow seen completed in the engine's database: issuance-bot flows.state = completed, DBOS workflow_status.status = SUCCESS), polled every 20 ms.`,
        'Each run starts from an empty database and a fresh process, and does warm-up mints before the clock starts. Rounds alternate which engine goes first.',
        'Per mint: CPU of the engine process (/proc), and from pg_stat_database the transactions committed and rows written in its database during the measured mints (background pollers included, the driver\'s completion polling subtracted).',
        'Each keeps its own default PostgreSQL pool (issuance-bot: persistence/database.ts; DBOS: systemDatabasePoolSize, default 10), both make the same RPC calls per mint (estimateGas, latest block for fees, signed EIP-1559 transaction, receipt polled every 250 ms) and the same Alpaca client (alpaca/client.ts) for the callback.',
      ],
      peerDoesLess: [
        'The DBOS app keeps the AP, wallet and asset in configuration (the service reads its registries and checks risk controls in the accepting transaction).',
        'Its nonces are in memory and the signed transaction is not stored before broadcast (the service persists both, so a crash never mints twice); it keeps no journal, views or audit trail.',
        'It does not detect a tokenization_request_id reused with a different body, nor a confirm that contradicts an earlier one (the service answers 409).',
      ],
      perMintMedians: Object.fromEntries(
        (['issuance-bot', 'DBOS Transact'] as const).map((e) => [
          e,
          { cpuMs: median(e, (r) => r.cpuMsPerMint), transactions: median(e, (r) => r.transactionsPerMint), rowWrites: median(e, (r) => r.rowWritesPerMint), p95Ms: median(e, (r) => r.endToEndMs.p95) },
        ]),
      ),
      runs: results,
    },
  };
};

async function runOnce(world: World, engine: Engine, sizes: Sizes, round: number): Promise<RunResult> {
  const database = engine === 'issuance-bot' ? SERVICE_DATABASE : DBOS_DATABASE;
  await recreateDatabase(world.postgresUrl, database);
  try {
    const deployment = engine === 'issuance-bot' ? await deployService(world, round) : await deployDbos(world);
    let stopped = false;
    try {
      world.alpaca.issuerBaseUrl = deployment.url;
      const mintOne = async (): Promise<number> => {
        const tokenizationRequestId = crypto.randomUUID();
        const t = performance.now();
        const created = await world.alpaca.requestMint({
          tokenization_request_id: tokenizationRequestId,
          qty: '1',
          underlying_symbol: 'AAPL',
          token_symbol: 'tAAPL',
          network: 'base',
          wallet_address: world.chain.apAccount.address,
          client_external_account_id: deployment.clientId,
        });
        if (created.status !== 200) throw new Error(`${engine}: mint request refused (${created.status}): ${JSON.stringify(created.body)}`);
        const confirmed = await world.alpaca.confirmMint(tokenizationRequestId, created.body.issuer_request_id, 'completed');
        if (confirmed.status !== 200) throw new Error(`${engine}: confirm refused (${confirmed.status}): ${JSON.stringify(confirmed.body)}`);
        await world.alpaca.waitForCallback(tokenizationRequestId, 120_000);
        return performance.now() - t;
      };

      await inParallel(sizes.warmup, sizes.width, mintOne);
      await waitFor(`${engine}: warm-up mints completed`, async () => (await deployment.completedMints()) === sizes.warmup, 60_000, 20);
      // A busy backend hands its counters to pg_stat_database at most once a second: let the warm-up's land.
      await new Promise((r) => setTimeout(r, 1_100));

      const statsBefore = await databaseCounters(world.postgresUrl, database);
      const monitorBefore = deployment.monitorQueries;
      const cpuBefore = cpuMs(deployment.pid);
      const endToEnd: number[] = [];
      const started = performance.now();
      await inParallel(sizes.mints, sizes.width, async () => {
        endToEnd.push(await mintOne());
      });
      await waitFor(`${engine}: every mint flow completed`, async () => (await deployment.completedMints()) === sizes.warmup + sizes.mints, 120_000, 20);
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuMs(deployment.pid) - cpuBefore;
      const monitorQueries = deployment.monitorQueries - monitorBefore;

      // Backends flush their counters when they exit: stop the engine, wait for its connections to close, read.
      stopped = true;
      await deployment.stop();
      await waitFor(`${engine}: connections closed`, () => admin(world.postgresUrl, async (c) => (await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [database])).rows[0].n === 0), 30_000, 50);
      const statsAfter = await databaseCounters(world.postgresUrl, database);
      return {
        engine,
        round: round + 1,
        completedPerSec: sizes.mints / seconds,
        endToEndMs: summarize(endToEnd),
        cpuMsPerMint: cpu / sizes.mints,
        transactionsPerMint: (statsAfter.transactions - statsBefore.transactions - monitorQueries) / sizes.mints,
        rowWritesPerMint: (statsAfter.rowWrites - statsBefore.rowWrites) / sizes.mints,
        wallSeconds: Math.round(seconds * 100) / 100,
      };
    } finally {
      if (!stopped) await deployment.stop();
    }
  } finally {
    await admin(world.postgresUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  }
}

/** Runs `work` `count` times, `width` at a time. */
async function inParallel(count: number, width: number, work: () => Promise<void | number>): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (started < count) {
        started++;
        await work();
      }
    }),
  );
}

/** User + system CPU of a process so far, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

async function startWorld(postgresUrl: string): Promise<World> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'issuance-peer-bench-'));
  const chain = await startSandboxChain(path.join(dataDir, 'chain'));
  const inboundApiKey = crypto.randomBytes(20).toString('hex');
  const alpacaAccountId = crypto.randomUUID();
  const alpacaCredentials = { keyId: 'peer-bench', secret: crypto.randomBytes(20).toString('hex') };
  let alpaca: FakeAlpaca;
  try {
    alpaca = await startFakeAlpaca({ issuerBaseUrl: 'http://127.0.0.1:1', issuerAuth: { apiKey: inboundApiKey }, accountId: alpacaAccountId, credentials: alpacaCredentials });
  } catch (err) {
    await chain.devnet.stop();
    throw err;
  }
  return {
    postgresUrl,
    chain,
    alpaca,
    inboundApiKey,
    alpacaAccountId,
    alpacaCredentials,
    dataDir,
    async close() {
      await alpaca.close();
      await chain.devnet.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function admin<T>(postgresUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function recreateDatabase(postgresUrl: string, database: string): Promise<void> {
  await admin(postgresUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${database}`);
  });
}

/** The server's cumulative counters for one database (committed transactions; rows inserted, updated, deleted). */
async function databaseCounters(postgresUrl: string, database: string): Promise<{ transactions: number; rowWrites: number }> {
  return admin(postgresUrl, async (c) => {
    const r = await c.query('SELECT xact_commit::bigint AS x, (tup_inserted + tup_updated + tup_deleted)::bigint AS w FROM pg_stat_database WHERE datname = $1', [database]);
    return { transactions: Number(r.rows[0].x), rowWrites: Number(r.rows[0].w) };
  });
}

function databaseUrl(postgresUrl: string, database: string): string {
  const url = new URL(postgresUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Polls with one connection of the driver's own, counting its queries (they show in the database's counters). */
function completionMonitor(url: string, sql: string) {
  const db = new pg.Pool({ connectionString: url, max: 1 });
  let queries = 0;
  return {
    get queries() {
      return queries;
    },
    async count(): Promise<number> {
      queries++;
      return (await db.query(sql)).rows[0].n as number;
    },
    close: () => db.end(),
  };
}

/** issuance-bot as production runs it (server/main.ts in its own process), on its own empty database. */
async function deployService(world: World, round: number): Promise<Deployment> {
  const operatorToken = crypto.randomBytes(20).toString('hex');
  const dataDir = fs.mkdtempSync(path.join(world.dataDir, 'service-'));
  const url = databaseUrl(world.postgresUrl, SERVICE_DATABASE);
  const svc = await spawnEngine(path.join(ROOT, 'server', 'main.ts'), {
    ISSUANCE_MODE: 'production',
    DATA_DIR: dataDir,
    DATABASE_URL: url,
    LOG_LEVEL: 'warn',
    ALPACA_INBOUND_API_KEY: world.inboundApiKey,
    OPERATOR_TOKEN: operatorToken,
    CHAIN_NETWORK: 'base',
    RPC_URL: world.chain.devnet.rpcUrl,
    CHAIN_ID: String(world.chain.devnet.chainId),
    CONFIRMATIONS: '1',
    ISSUER_KEYSTORE_FILE: world.chain.keystoreFile,
    ISSUER_KEYSTORE_PASSWORD_FILE: world.chain.keystorePasswordFile,
    ALPACA_API_BASE_URL: world.alpaca.url,
    ALPACA_ACCOUNT_ID: world.alpacaAccountId,
    ALPACA_API_KEY_ID: world.alpacaCredentials.keyId,
    ALPACA_API_SECRET: world.alpacaCredentials.secret,
    // The driver's own calls (seeding) and many mints a second: no rate limits in the bench.
    OPERATOR_RATE_LIMIT_PER_MINUTE: '0',
    ALPACA_RATE_LIMIT_PER_MINUTE: '0',
    PORT: '0',
  });
  const monitor = completionMonitor(url, "SELECT count(*)::int AS n FROM flows WHERE flow_type = 'mint' AND state = 'completed'");
  const stop = async () => {
    await svc.stop();
    await monitor.close();
  };
  try {
    const operator = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${svc.url}${p}`, { method, headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    // The AP and asset, registered and linked the way an operator and Alpaca do it.
    const email = `peer-bench-${round}@ap.example`;
    const ap = await operator('POST', '/operator/aps', { email, wallets: [{ network: 'base', address: world.chain.apAccount.address }] });
    if (ap.status !== 201) throw new Error(`register AP failed: ${JSON.stringify(ap.body)}`);
    const asset = await operator('POST', '/operator/assets', { underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', vault_address: world.chain.vault.vault });
    if (asset.status !== 201) throw new Error(`add asset failed: ${JSON.stringify(asset.body)}`);
    world.alpaca.issuerBaseUrl = svc.url;
    const linked = await world.alpaca.connect(email, `ACC-${crypto.randomUUID().slice(0, 8)}`);
    if (linked.status !== 200) throw new Error(`link failed: ${JSON.stringify(linked.body)}`);
    return {
      url: svc.url,
      pid: svc.pid,
      clientId: linked.body.client_external_account_id,
      database: SERVICE_DATABASE,
      completedMints: () => monitor.count(),
      get monitorQueries() {
        return monitor.queries;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The DBOS Transact app (bench/peer/dbos-issuer.ts) in its own process, its system database on its own empty database. */
async function deployDbos(world: World): Promise<Deployment> {
  const url = databaseUrl(world.postgresUrl, DBOS_DATABASE);
  const clientId = crypto.randomUUID();
  const child = await spawnEngine(path.join(ROOT, 'bench', 'peer', 'dbos-issuer.ts'), {
    PEER_DBOS_SYSTEM_DATABASE_URL: url,
    PEER_INBOUND_API_KEY: world.inboundApiKey,
    PEER_RPC_URL: world.chain.devnet.rpcUrl,
    PEER_CHAIN_ID: String(world.chain.devnet.chainId),
    PEER_KEYSTORE_FILE: world.chain.keystoreFile,
    PEER_KEYSTORE_PASSWORD_FILE: world.chain.keystorePasswordFile,
    PEER_ALPACA_BASE_URL: world.alpaca.url,
    PEER_ALPACA_ACCOUNT_ID: world.alpacaAccountId,
    PEER_ALPACA_KEY_ID: world.alpacaCredentials.keyId,
    PEER_ALPACA_SECRET: world.alpacaCredentials.secret,
    PEER_CLIENT_ID: clientId,
    PEER_AP_WALLET: world.chain.apAccount.address,
    PEER_NETWORK: 'base',
    PEER_UNDERLYING_SYMBOL: 'AAPL',
    PEER_TOKEN_SYMBOL: 'tAAPL',
    PEER_VAULT: world.chain.vault.vault,
  });
  // DBOS migrated its schema (`dbos`) at launch; its workflow table says which workflows finished.
  const monitor = completionMonitor(url, "SELECT count(*)::int AS n FROM dbos.workflow_status WHERE name = 'mint' AND status = 'SUCCESS'");
  return {
    url: child.url,
    pid: child.pid,
    clientId,
    database: DBOS_DATABASE,
    completedMints: () => monitor.count(),
    get monitorQueries() {
      return monitor.queries;
    },
    async stop() {
      await child.stop();
      await monitor.close();
    },
  };
}

/** An engine's entry point as its own process, started as the service is (test/support/child-service.ts). */
async function spawnEngine(entry: string, env: Record<string, string>): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const engine = await spawnListening(entry, env, { nodeArgs: profiling() });
  return {
    url: engine.url,
    pid: engine.child.pid!,
    // Both shut down cleanly on SIGTERM (and write their CPU profiles); one that hangs is killed.
    async stop() {
      const killer = setTimeout(() => engine.child.kill('SIGKILL'), 25_000);
      await engine.kill('SIGTERM');
      clearTimeout(killer);
    },
  };
}
