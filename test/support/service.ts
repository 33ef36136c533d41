import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { AdjustableClock } from '../../core/clock';
import type { ServiceConfig } from '../../server/config';
import { type FlowModule, type Service, startService } from '../../server/service';
import { signRequest } from '../../server/auth';
import { testDatabaseConfig } from './test-database';
import { apiConformance } from './api-conformance';

export interface TestService extends Service {
  dataDir: string;
  apiKey: string;
  operatorToken: string;
  signingKey: crypto.KeyObject;
  keyid: string;
  testClock: AdjustableClock;
  /** Calls an Alpaca-facing endpoint with the X-API-KEY scheme (or a signature, or nothing). */
  alpaca(method: string, urlPath: string, body?: unknown, auth?: 'api-key' | 'signature' | 'none'): Promise<{ status: number; body: any; headers: Headers }>;
  operator(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: any }>;
}

export function tempDir(prefix = 'issuance-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startTestService(options: { modules?: FlowModule[]; dataDir?: string; autoRun?: boolean; config?: Partial<ServiceConfig> } = {}): Promise<TestService> {
  const dataDir = options.dataDir ?? tempDir();
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const keyid = 'alpaca-issuer-test';
  const apiKey = crypto.randomBytes(20).toString('hex');
  const operatorToken = crypto.randomBytes(20).toString('hex');
  const config: ServiceConfig = {
    mode: 'sandbox',
    port: 0,
    host: '127.0.0.1',
    dataDir,
    logLevel: 'silent',
    bodyLimitBytes: 64 * 1024,
    inbound: { apiKey, signatureKeys: new Map([[keyid, publicKey]]), maxAgeSeconds: 300 },
    operatorToken,
    chainNetwork: 'base',
    alpacaTimeoutMs: 5_000,
    mint: { journalTimeoutMs: 60_000, callbackMaxAttempts: 3 },
    redemption: { pollIntervalMs: 200, deadlineMs: 60_000, transferPollMs: 100, transferMaxRange: 500 },
    ...testDatabaseConfig(dataDir),
    ...options.config,
  };
  const testClock = new AdjustableClock();
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const service = await startService(config, log, options.modules ?? [], { clock: testClock, autoRun: options.autoRun, runner: { pollMs: 50 }, timerPollMs: 50, onResponse: apiConformance.observer() });

  async function call(method: string, urlPath: string, body: unknown, headers: Record<string, string>) {
    const raw = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    if (raw !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(`${service.url}${urlPath}`, { method, headers, body: raw });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  }

  return {
    ...service,
    dataDir,
    apiKey,
    operatorToken,
    signingKey: privateKey,
    keyid,
    testClock,
    alpaca(method, urlPath, body, auth = 'api-key') {
      const headers: Record<string, string> = {};
      if (auth === 'api-key') headers['x-api-key'] = apiKey;
      if (auth === 'signature') {
        const raw = body === undefined ? new Uint8Array(0) : Buffer.from(JSON.stringify(body));
        if (body !== undefined) headers['content-type'] = 'application/json';
        Object.assign(headers, signRequest({ method, targetUri: `${service.url}${urlPath}`, headers, rawBody: raw }, { keyid, privateKey }));
      }
      return call(method, urlPath, body, headers);
    },
    operator(method, urlPath, body) {
      return call(method, urlPath, body, { authorization: `Bearer ${operatorToken}` });
    },
  };
}
