import crypto from 'node:crypto';
import type { AlpacaClient } from '../../alpaca/client';
import { mintModule } from '../../server/flows/mint';
import { count } from '../support/fixtures';
import { startTestService, type TestService } from '../support/service';

/** Named operators, each with a token of their own (four eyes needs two people). */
export type Operators = Record<'alice' | 'bob', string>;
export const newOperators = (): Operators => ({ alice: crypto.randomBytes(20).toString('hex'), bob: crypto.randomBytes(20).toString('hex') });

/** Calls the operator API as one named operator. */
export async function asOperator(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Journal rows and flows: a refused request must change neither. */
export async function writes(db: TestService['db']): Promise<{ journal: number; flows: number; outbox: number }> {
  return { journal: await count(db, 'journal'), flows: await count(db, 'flows'), outbox: await count(db, 'outbox') };
}

/**
 * The real mint routes, machine and view on a service without a chain: mint requests and journal
 * confirmations are accepted or refused exactly as in production; nothing here runs an effect.
 */
export async function startMintAcceptance(operators: Operators): Promise<TestService & { apId: string; wallet: string }> {
  const svc = await startTestService({ modules: [mintModule(new Map(), {} as AlpacaClient)], autoRun: false, config: { operators: new Map(Object.entries(operators)) } });
  const wallet = `0x${crypto.randomBytes(20).toString('hex')}`;
  const ap = await svc.accounts.register({ email: 'desk@ap.example', wallets: [{ network: 'base', address: wallet }] });
  const linked = await svc.alpaca('POST', '/tokenization/accounts/connect', { email: 'desk@ap.example', client_account_number: 'ACC-1' });
  if (linked.status !== 200) throw new Error(`link failed: ${JSON.stringify(linked.body)}`);
  return Object.assign(svc, { apId: ap.apId, wallet });
}

/** A mint request body as Alpaca sends it, for one of the service's assets. */
export function mintBody(svc: { apId: string; wallet: string }, token: { underlying: string; token: string }, qty: string, id: string = crypto.randomUUID()) {
  return { tokenization_request_id: id, qty, underlying_symbol: token.underlying, token_symbol: token.token, network: 'base', wallet_address: svc.wallet, client_external_account_id: svc.apId };
}
