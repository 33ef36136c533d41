import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AnyMachineSnapshot } from 'xstate';
import { applyEntry } from '../machines/host/fold';
import { stateName } from '../machines/host/flow-definition';
import type { JournalEntry } from '../persistence/journal';
import { mintDefinition } from './flows/mint';

/**
 * `npm run demo`: plays Alpaca against a running sandbox (`npm start`): requests a mint, confirms the
 * journal, waits for the flow to finish, and prints each state it passed through (replayed from its
 * journal) with the transaction hash.
 */
async function main(): Promise<void> {
  const dataDir = path.resolve(process.env.DATA_DIR ?? './data');
  const sandboxFile = path.join(dataDir, 'sandbox', 'sandbox.json');
  if (!fs.existsSync(sandboxFile)) throw new Error(`no running sandbox found (${sandboxFile}); start one with npm start`);
  const sandbox = JSON.parse(fs.readFileSync(sandboxFile, 'utf8'));
  const creds = JSON.parse(fs.readFileSync(sandbox.credentialsFile, 'utf8'));
  const operator = (p: string) => fetch(`${sandbox.issuerUrl}${p}`, { headers: { authorization: `Bearer ${creds.operatorToken}` } }).then((r) => r.json() as Promise<any>);

  const trid = crypto.randomUUID();
  const started = Date.now();
  // The fake Alpaca plays Alpaca: it sends the mint request, then confirms the journal.
  const driven = (await (
    await fetch(`${sandbox.fakeAlpacaUrl}/_fake/mints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tokenization_request_id: trid, qty: '10.5', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: sandbox.network, wallet_address: sandbox.apWallet, client_external_account_id: sandbox.clientExternalAccountId }),
    })
  ).json()) as any;
  console.log(`Alpaca → POST /tokenization/mint → ${driven.request.status} ${JSON.stringify(driven.request.body)}`);
  if (driven.request.status !== 200) process.exit(1);
  console.log(`Alpaca → POST /tokenization/mint/confirm (completed) → ${driven.confirm.status}`);

  const flowId = encodeURIComponent(`mint:${trid}`);
  let detail: any;
  for (;;) {
    detail = await operator(`/operator/flows/${flowId}`);
    if (detail.flow.status !== 'active' || detail.flow.needsOperator) break;
    if (Date.now() - started > 60_000) throw new Error(`mint did not finish; state ${detail.flow.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  let snapshot: AnyMachineSnapshot | undefined;
  console.log('\nstates, replayed from the journal:');
  for (const entry of detail.journal as JournalEntry[]) {
    snapshot = applyEntry(mintDefinition, snapshot, entry);
    console.log(`  ${entry.recordedAt}  ${entry.type.padEnd(22)} → ${stateName(snapshot.value)}`);
  }
  const ctx = detail.flow.snapshot.context;
  const seen = (await (await fetch(`${sandbox.fakeAlpacaUrl}/_fake/callbacks?tokenization_request_id=${trid}`)).json()) as any;
  console.log(`\nfinal state: ${detail.flow.state}\ntx hash: ${ctx.txHash}\nreceipt id: ${ctx.receiptId}\nAlpaca received ${seen.callbacks.length} mint callback(s), tx_hash ${seen.callbacks[0]?.body.tx_hash}\nend to end: ${Date.now() - started} ms`);
  if (detail.flow.state !== 'completed') process.exit(1);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
