import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ServiceConfig } from './config';

export interface SandboxCredentials {
  alpacaInboundApiKey: string;
  operatorToken: string;
}

/**
 * Sandbox mode makes up the credentials it was not given and keeps them in a 0600 file in the data
 * directory, so the demo and a developer's curl can use them; they are never printed.
 */
export function ensureSandboxCredentials(config: ServiceConfig): { config: ServiceConfig; file: string } {
  const file = path.join(config.dataDir, 'sandbox-credentials.json');
  fs.mkdirSync(config.dataDir, { recursive: true });
  let stored: Partial<SandboxCredentials> = {};
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, 'utf8'));
  const creds: SandboxCredentials = {
    alpacaInboundApiKey: config.inbound.apiKey ?? stored.alpacaInboundApiKey ?? crypto.randomBytes(24).toString('hex'),
    operatorToken: config.operatorToken ?? stored.operatorToken ?? crypto.randomBytes(24).toString('hex'),
  };
  fs.writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return { config: { ...config, inbound: { ...config.inbound, apiKey: creds.alpacaInboundApiKey }, operatorToken: creds.operatorToken }, file };
}
