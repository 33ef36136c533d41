import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { ed25519PublicKeyFromPem } from './auth';
import type { AccessPolicy } from './app';
import { parseAllowList } from './guards/ip-allowlist';

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const perMinute = z.coerce.number().int().min(0).max(1_000_000);

/**
 * Everything the service reads from its environment, parsed once. `sandbox` (the default) runs on
 * SQLite, a local devnet and the fake Alpaca with generated credentials; `production` requires each
 * secret to be given and refuses to start without it.
 */
const env = z.object({
  ISSUANCE_MODE: z.enum(['sandbox', 'production']).default('sandbox'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z.string().optional(),
  INSTANCE_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/).optional(),
  OUTBOX_LEASE_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case PostgreSQL identifier').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024),
  PUBLIC_BASE_URL: z.string().url().optional(),
  ALPACA_INBOUND_API_KEY: z.string().min(16).optional(),
  ALPACA_INBOUND_SIGNATURE_KEYS_FILE: z.string().optional(),
  SIGNATURE_MAX_AGE_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  OPERATOR_TOKEN: z.string().min(16).optional(),
  OPERATOR_TOKENS_FILE: z.string().optional(),
  // Chain: one EVM network per process for now (the asset registry names it).
  CHAIN_NETWORK: z.string().default('base'),
  RPC_URL: z.string().url().optional(),
  CHAIN_ID: z.coerce.number().int().positive().optional(),
  CONFIRMATIONS: z.coerce.number().int().min(1).max(1000).optional(),
  ISSUER_KEYSTORE_FILE: z.string().optional(),
  ISSUER_KEYSTORE_PASSWORD_FILE: z.string().optional(),
  // Alpaca Broker API (outbound).
  ALPACA_API_BASE_URL: z.string().url().optional(),
  ALPACA_ACCOUNT_ID: z.string().optional(),
  ALPACA_API_KEY_ID: z.string().optional(),
  ALPACA_API_SECRET: z.string().optional(),
  // OAuth2 client credentials instead of Basic, when both are given.
  ALPACA_OAUTH_CLIENT_ID: z.string().optional(),
  ALPACA_OAUTH_CLIENT_SECRET: z.string().optional(),
  ALPACA_OAUTH_URL: z.string().url().default('https://authx.alpaca.markets'),
  ALPACA_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  // Mint flow.
  MINT_JOURNAL_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60 * 60 * 1000),
  CALLBACK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(30),
  // Redemption flow.
  REDEMPTION_POLL_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  REDEMPTION_DEADLINE_MS: z.coerce.number().int().min(1000).default(24 * 60 * 60 * 1000),
  STATELY_INSPECT_URL: z.string().url().optional(),
  STATELY_INSPECT_ALLOW_REMOTE: flag.default(false),
  // Access control and operations.
  TRUST_PROXY: flag.default(false),
  ALPACA_IP_ALLOWLIST: z.string().optional(),
  OPERATOR_IP_ALLOWLIST: z.string().optional(),
  ALPACA_RATE_LIMIT_PER_MINUTE: perMinute.default(1200),
  OPERATOR_RATE_LIMIT_PER_MINUTE: perMinute.default(300),
  AUTH_FAILURE_LIMIT_PER_MINUTE: perMinute.default(30),
  METRICS_TOKEN: z.string().min(16).optional(),
  STUCK_FLOW_MINUTES: z.coerce.number().int().min(1).max(7 * 24 * 60).default(30),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(10 * 60_000).default(20_000),
  TRANSFER_POLL_MS: z.coerce.number().int().min(50).default(2_000),
  TRANSFER_MAX_RANGE: z.coerce.number().int().min(1).max(100_000).default(2_000),
  // Reconciliation of reserves (0: no scheduled runs; the operator endpoint still reconciles on demand).
  RECONCILIATION_INTERVAL_MS: z.coerce.number().int().min(0).max(7 * 24 * 3_600_000).default(5 * 60_000),
  RECONCILIATION_TOLERANCE_SHARES: z.string().regex(/^(0|[1-9]\d*)(\.\d{1,36})?$/, 'a non-negative decimal number of shares').default('0'),
  RECONCILIATION_ALPACA_ACCOUNT_ID: z.string().min(1).optional(),
});

export interface ServiceConfig {
  mode: 'sandbox' | 'production';
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  /** Names this instance in leases and logs (default: host name, pid and a random suffix). */
  instanceId?: string;
  /** How long an instance holds an outbox effect before another may take it over (default 60 s). */
  outboxLeaseMs?: number;
  /** PostgreSQL schema for all tables (created if missing); default the connection's search path. */
  databaseSchema?: string;
  logLevel: string;
  bodyLimitBytes: number;
  inbound: { apiKey?: string; signatureKeys: Map<string, KeyObject>; publicBaseUrl?: string; maxAgeSeconds: number };
  operatorToken?: string;
  /** Named operators (identity → bearer token), from OPERATOR_TOKENS_FILE. */
  operators?: Map<string, string>;
  /** Absent in sandbox mode until the sandbox starts its own devnet. */
  chain?: { network: string; rpcUrl: string; chainId?: number; confirmations: number; keystoreFile: string; keystorePasswordFile: string };
  alpaca?: {
    baseUrl: string;
    accountId: string;
    /** HTTP Basic credentials (key id : secret). */
    keyId?: string;
    secret?: string;
    /** OAuth2 client credentials; used instead of Basic when present. */
    oauth?: { authUrl: string; clientId: string; clientSecret: string };
    timeoutMs: number;
  };
  alpacaTimeoutMs: number;
  chainNetwork: string;
  mint: { journalTimeoutMs: number; callbackMaxAttempts: number };
  redemption: { pollIntervalMs: number; deadlineMs: number; transferPollMs: number; transferMaxRange: number };
  /** WebSocket URL of a Stately inspector bridge; flows are streamed to it live when set. */
  inspectUrl?: string;
  /** Stream to an inspector that is not on this machine (off: loopback only). */
  inspectAllowRemote?: boolean;
  /** IP allow-lists, rate limits, proxy trust; absent means all off. */
  access?: AccessPolicy;
  /** Bearer token Prometheus presents on `/metrics` (operators' tokens work too). */
  metricsToken?: string;
  /** A flow with no progress for this long is reported stuck (default 30). */
  stuckFlowMinutes?: number;
  /** How long SIGTERM waits for in-flight requests and effects (default 20 s). */
  shutdownTimeoutMs?: number;
  /** Proof of reserves: how often, how much drift is tolerated, and the Alpaca account holding the shares (default ALPACA_ACCOUNT_ID). */
  reconciliation?: { intervalMs: number; toleranceShares: string; alpacaAccountId?: string };
}

/** Every variable the service reads, for `--help`-style listings and the README check. */
export const CONFIG_VARIABLES = Object.keys(env.shape);

/**
 * Reads the environment, and first a file named by CONFIG_FILE (JSON object or `NAME=value` lines)
 * whose values the environment overrides. Errors name the variable, never its value.
 */
export function configSource(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const file = source.CONFIG_FILE;
  if (!file) return source;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`CONFIG_FILE: cannot read ${file}`);
  }
  const fromFile: Record<string, string> = {};
  if (text.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ConfigError(`CONFIG_FILE: ${file} is not valid JSON`);
    }
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new ConfigError(`${k}: must be a string, number or boolean in ${file}`);
      fromFile[k] = String(v);
    }
  } else {
    for (const [i, line] of text.split(/\r?\n/).entries()) {
      if (!line.trim() || line.trimStart().startsWith('#')) continue;
      const m = /^\s*([A-Z][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
      if (!m) throw new ConfigError(`CONFIG_FILE: ${file} line ${i + 1} is not NAME=value`);
      fromFile[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  const unknown = Object.keys(fromFile).filter((k) => !(k in env.shape));
  if (unknown.length) throw new ConfigError(`CONFIG_FILE: unknown variable ${unknown.join(', ')}`);
  return { ...fromFile, ...source };
}

/** A configuration problem: the message names the variable and what is wrong with it. */
export class ConfigError extends Error {}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const parsed = env.safeParse(configSource(source));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const e = parsed.data;
  const signatureKeys = new Map<string, KeyObject>();
  if (e.ALPACA_INBOUND_SIGNATURE_KEYS_FILE) {
    // { "<keyid>": "-----BEGIN PUBLIC KEY-----…" }: several during a key rotation.
    const raw = fromFile('ALPACA_INBOUND_SIGNATURE_KEYS_FILE', e.ALPACA_INBOUND_SIGNATURE_KEYS_FILE, (text) => JSON.parse(text) as Record<string, string>);
    for (const [keyid, pem] of Object.entries(raw)) {
      try {
        signatureKeys.set(keyid, ed25519PublicKeyFromPem(pem));
      } catch {
        throw new ConfigError(`ALPACA_INBOUND_SIGNATURE_KEYS_FILE: key ${keyid} is not an Ed25519 public key in PEM`);
      }
    }
  }
  const config: ServiceConfig = {
    mode: e.ISSUANCE_MODE,
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    databaseSchema: e.DATABASE_SCHEMA,
    instanceId: e.INSTANCE_ID,
    outboxLeaseMs: e.OUTBOX_LEASE_MS,
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    inbound: { apiKey: e.ALPACA_INBOUND_API_KEY, signatureKeys, publicBaseUrl: e.PUBLIC_BASE_URL, maxAgeSeconds: e.SIGNATURE_MAX_AGE_SECONDS },
    operatorToken: e.OPERATOR_TOKEN,
    operators: e.OPERATOR_TOKENS_FILE ? readOperators(e.OPERATOR_TOKENS_FILE) : undefined,
    chainNetwork: e.CHAIN_NETWORK,
    alpacaTimeoutMs: e.ALPACA_TIMEOUT_MS,
    mint: { journalTimeoutMs: e.MINT_JOURNAL_TIMEOUT_MS, callbackMaxAttempts: e.CALLBACK_MAX_ATTEMPTS },
    inspectUrl: e.STATELY_INSPECT_URL,
    inspectAllowRemote: e.STATELY_INSPECT_ALLOW_REMOTE,
    access: {
      trustProxy: e.TRUST_PROXY,
      alpacaAllowList: allowList('ALPACA_IP_ALLOWLIST', e.ALPACA_IP_ALLOWLIST),
      operatorAllowList: allowList('OPERATOR_IP_ALLOWLIST', e.OPERATOR_IP_ALLOWLIST),
      alpacaRateLimit: e.ALPACA_RATE_LIMIT_PER_MINUTE ? { points: e.ALPACA_RATE_LIMIT_PER_MINUTE, windowSeconds: 60 } : undefined,
      operatorRateLimit: e.OPERATOR_RATE_LIMIT_PER_MINUTE ? { points: e.OPERATOR_RATE_LIMIT_PER_MINUTE, windowSeconds: 60 } : undefined,
      authFailureLimit: e.AUTH_FAILURE_LIMIT_PER_MINUTE ? { points: e.AUTH_FAILURE_LIMIT_PER_MINUTE, windowSeconds: 60 } : undefined,
    },
    metricsToken: e.METRICS_TOKEN,
    stuckFlowMinutes: e.STUCK_FLOW_MINUTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    reconciliation: { intervalMs: e.RECONCILIATION_INTERVAL_MS, toleranceShares: e.RECONCILIATION_TOLERANCE_SHARES, alpacaAccountId: e.RECONCILIATION_ALPACA_ACCOUNT_ID },
    redemption: { pollIntervalMs: e.REDEMPTION_POLL_INTERVAL_MS, deadlineMs: e.REDEMPTION_DEADLINE_MS, transferPollMs: e.TRANSFER_POLL_MS, transferMaxRange: e.TRANSFER_MAX_RANGE },
  };
  if (e.RPC_URL) {
    if (!e.ISSUER_KEYSTORE_FILE || !e.ISSUER_KEYSTORE_PASSWORD_FILE) throw new ConfigError('RPC_URL needs ISSUER_KEYSTORE_FILE and ISSUER_KEYSTORE_PASSWORD_FILE');
    config.chain = {
      network: e.CHAIN_NETWORK,
      rpcUrl: e.RPC_URL,
      chainId: e.CHAIN_ID,
      confirmations: e.CONFIRMATIONS ?? (config.mode === 'production' ? 12 : 1),
      keystoreFile: e.ISSUER_KEYSTORE_FILE,
      keystorePasswordFile: e.ISSUER_KEYSTORE_PASSWORD_FILE,
    };
  }
  if (e.ALPACA_API_BASE_URL) {
    const oauth = e.ALPACA_OAUTH_CLIENT_ID && e.ALPACA_OAUTH_CLIENT_SECRET ? { authUrl: e.ALPACA_OAUTH_URL, clientId: e.ALPACA_OAUTH_CLIENT_ID, clientSecret: e.ALPACA_OAUTH_CLIENT_SECRET } : undefined;
    if (!e.ALPACA_ACCOUNT_ID || (!oauth && (!e.ALPACA_API_KEY_ID || !e.ALPACA_API_SECRET))) {
      throw new ConfigError('ALPACA_API_BASE_URL needs ALPACA_ACCOUNT_ID and either ALPACA_API_KEY_ID + ALPACA_API_SECRET or ALPACA_OAUTH_CLIENT_ID + ALPACA_OAUTH_CLIENT_SECRET');
    }
    config.alpaca = { baseUrl: e.ALPACA_API_BASE_URL, accountId: e.ALPACA_ACCOUNT_ID, keyId: e.ALPACA_API_KEY_ID, secret: e.ALPACA_API_SECRET, oauth, timeoutMs: e.ALPACA_TIMEOUT_MS };
  }
  if (config.mode === 'production') {
    const missing: string[] = [];
    if (!config.inbound.apiKey && signatureKeys.size === 0) missing.push('ALPACA_INBOUND_API_KEY or ALPACA_INBOUND_SIGNATURE_KEYS_FILE');
    if (!config.operatorToken && !config.operators?.size) missing.push('OPERATOR_TOKEN or OPERATOR_TOKENS_FILE');
    if (!config.chain) missing.push('RPC_URL (with ISSUER_KEYSTORE_FILE, ISSUER_KEYSTORE_PASSWORD_FILE)');
    if (!config.alpaca) missing.push('ALPACA_API_BASE_URL (with ALPACA_ACCOUNT_ID and Basic or OAuth credentials)');
    if (missing.length) throw new ConfigError(`production mode needs: ${missing.join(', ')}`);
  }
  return config;
}

/** `{ "<operator id>": "<bearer token>" }`: one entry per person, so actions are journaled under a name. */
function readOperators(file: string): Map<string, string> {
  const json = fromFile('OPERATOR_TOKENS_FILE', file, (text) => JSON.parse(text) as unknown);
  const parsed = z.record(z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/), z.string().min(16)).safeParse(json);
  if (!parsed.success) throw new ConfigError('OPERATOR_TOKENS_FILE: must map operator ids to tokens of at least 16 characters');
  return new Map(Object.entries(parsed.data));
}

function fromFile<T>(variable: string, file: string, parse: (text: string) => T): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`${variable}: cannot read ${file}`);
  }
  try {
    return parse(text);
  } catch {
    throw new ConfigError(`${variable}: ${file} is not valid JSON`);
  }
}

function allowList(variable: string, spec: string | undefined) {
  if (!spec) return undefined;
  try {
    return parseAllowList(spec);
  } catch (err) {
    throw new ConfigError(`${variable}: ${(err as Error).message}`);
  }
}
