import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { ed25519PublicKeyFromPem } from './auth';

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
  TRANSFER_POLL_MS: z.coerce.number().int().min(50).default(2_000),
  TRANSFER_MAX_RANGE: z.coerce.number().int().min(1).max(100_000).default(2_000),
});

export interface ServiceConfig {
  mode: 'sandbox' | 'production';
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
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
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const e = env.parse(source);
  const signatureKeys = new Map<string, KeyObject>();
  if (e.ALPACA_INBOUND_SIGNATURE_KEYS_FILE) {
    // { "<keyid>": "-----BEGIN PUBLIC KEY-----…" }: several during a key rotation.
    const raw = JSON.parse(fs.readFileSync(e.ALPACA_INBOUND_SIGNATURE_KEYS_FILE, 'utf8')) as Record<string, string>;
    for (const [keyid, pem] of Object.entries(raw)) signatureKeys.set(keyid, ed25519PublicKeyFromPem(pem));
  }
  const config: ServiceConfig = {
    mode: e.ISSUANCE_MODE,
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    inbound: { apiKey: e.ALPACA_INBOUND_API_KEY, signatureKeys, publicBaseUrl: e.PUBLIC_BASE_URL, maxAgeSeconds: e.SIGNATURE_MAX_AGE_SECONDS },
    operatorToken: e.OPERATOR_TOKEN,
    operators: e.OPERATOR_TOKENS_FILE ? readOperators(e.OPERATOR_TOKENS_FILE) : undefined,
    chainNetwork: e.CHAIN_NETWORK,
    alpacaTimeoutMs: e.ALPACA_TIMEOUT_MS,
    mint: { journalTimeoutMs: e.MINT_JOURNAL_TIMEOUT_MS, callbackMaxAttempts: e.CALLBACK_MAX_ATTEMPTS },
    inspectUrl: e.STATELY_INSPECT_URL,
    redemption: { pollIntervalMs: e.REDEMPTION_POLL_INTERVAL_MS, deadlineMs: e.REDEMPTION_DEADLINE_MS, transferPollMs: e.TRANSFER_POLL_MS, transferMaxRange: e.TRANSFER_MAX_RANGE },
  };
  if (e.RPC_URL) {
    if (!e.ISSUER_KEYSTORE_FILE || !e.ISSUER_KEYSTORE_PASSWORD_FILE) throw new Error('RPC_URL needs ISSUER_KEYSTORE_FILE and ISSUER_KEYSTORE_PASSWORD_FILE');
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
      throw new Error('ALPACA_API_BASE_URL needs ALPACA_ACCOUNT_ID and either ALPACA_API_KEY_ID + ALPACA_API_SECRET or ALPACA_OAUTH_CLIENT_ID + ALPACA_OAUTH_CLIENT_SECRET');
    }
    config.alpaca = { baseUrl: e.ALPACA_API_BASE_URL, accountId: e.ALPACA_ACCOUNT_ID, keyId: e.ALPACA_API_KEY_ID, secret: e.ALPACA_API_SECRET, oauth, timeoutMs: e.ALPACA_TIMEOUT_MS };
  }
  if (config.mode === 'production') {
    const missing: string[] = [];
    if (!config.inbound.apiKey && signatureKeys.size === 0) missing.push('ALPACA_INBOUND_API_KEY or ALPACA_INBOUND_SIGNATURE_KEYS_FILE');
    if (!config.operatorToken && !config.operators?.size) missing.push('OPERATOR_TOKEN or OPERATOR_TOKENS_FILE');
    if (!config.chain) missing.push('RPC_URL (with ISSUER_KEYSTORE_FILE, ISSUER_KEYSTORE_PASSWORD_FILE)');
    if (!config.alpaca) missing.push('ALPACA_API_BASE_URL (with ALPACA_ACCOUNT_ID and Basic or OAuth credentials)');
    if (missing.length) throw new Error(`production mode needs: ${missing.join(', ')}`);
  }
  return config;
}

/** `{ "<operator id>": "<bearer token>" }`: one entry per person, so actions are journaled under a name. */
function readOperators(file: string): Map<string, string> {
  const parsed = z.record(z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/), z.string().min(16)).safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error('OPERATOR_TOKENS_FILE must map operator ids to tokens of at least 16 characters');
  return new Map(Object.entries(parsed.data));
}
