import { redemptionFlowId } from '../core/flow-ids';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import type { AnyMachineSnapshot } from 'xstate';
import { TAGS } from '../machines/tags';
import { stateName, type FlowDefinition } from '../persistence/flow-definition';
import { applyEntry } from '../persistence/fold';
import type { JournalEntry } from '../persistence/journal';
import { mintDefinition } from './flows/mint';
import { redemptionDefinition } from './flows/redemption';

/**
 * `npm run demo`: against a running sandbox (`npm start`), the fake Alpaca requests a mint and confirms
 * the journal; then the sandbox AP sends some tokens back to the redemption wallet. For each flow it
 * prints the states it passed through (replayed from its journal) and its transaction hashes.
 */
async function main(): Promise<void> {
  const dataDir = path.resolve(process.env.DATA_DIR ?? './data');
  const sandboxFile = path.join(dataDir, 'sandbox', 'sandbox.json');
  if (!fs.existsSync(sandboxFile)) throw new Error(`no running sandbox found (${sandboxFile}); start one with npm start`);
  const sandbox = JSON.parse(fs.readFileSync(sandboxFile, 'utf8'));
  const creds = JSON.parse(fs.readFileSync(sandbox.credentialsFile, 'utf8'));
  const operator = (p: string) => fetch(`${sandbox.issuerUrl}${p}`, { headers: { authorization: `Bearer ${creds.operatorToken}` } }).then((r) => r.json() as Promise<any>);

  async function follow(def: FlowDefinition, flowId: string, started: number): Promise<any> {
    let detail: any;
    for (;;) {
      detail = await operator(`/operator/flows/${encodeURIComponent(flowId)}`);
      if (detail.flow && (detail.flow.status !== 'active' || detail.flow.needsOperator)) break;
      if (Date.now() - started > 120_000) throw new Error(`${flowId} did not finish; state ${detail.flow?.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    let snapshot: AnyMachineSnapshot | undefined;
    console.log(`  states of ${flowId}, replayed from its journal:`);
    for (const entry of detail.journal as JournalEntry[]) {
      snapshot = applyEntry(def, snapshot, entry);
      console.log(`    ${entry.recordedAt}  ${entry.type.padEnd(24)} → ${stateName(snapshot.value)}`);
    }
    return detail;
  }

  // Mint: the fake Alpaca plays Alpaca: it sends the mint request, then confirms the journal.
  console.log('MINT');
  const trid = crypto.randomUUID();
  let started = Date.now();
  const driven = (await (
    await fetch(`${sandbox.fakeAlpacaUrl}/_fake/mints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tokenization_request_id: trid, qty: '10.5', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: sandbox.network, wallet_address: sandbox.apWallet, client_external_account_id: sandbox.clientExternalAccountId }),
    })
  ).json()) as any;
  console.log(`  Alpaca → POST /tokenization/mint → ${driven.request.status} ${JSON.stringify(driven.request.body)}`);
  if (driven.request.status !== 200) process.exit(1);
  console.log(`  Alpaca → POST /tokenization/mint/confirm (completed) → ${driven.confirm.status}`);
  const mint = await follow(mintDefinition, `mint:${trid}`, started);
  const seen = (await (await fetch(`${sandbox.fakeAlpacaUrl}/_fake/callbacks?tokenization_request_id=${trid}`)).json()) as any;
  console.log(`  final state: ${mint.flow.state}; deposit tx ${mint.flow.snapshot.context.txHash}; receipt id ${mint.flow.snapshot.context.receiptId}`);
  console.log(`  Alpaca received ${seen.callbacks.length} mint callback(s) with tx_hash ${seen.callbacks[0]?.body.tx_hash}; ${Date.now() - started} ms end to end`);
  // Final and not abandoned: minted and Alpaca told.
  if (mint.flow.status !== 'done' || mint.flow.tags.includes(TAGS.mintAbandoned)) process.exit(1);

  // Redemption: the AP sends 4 tokens to the redemption wallet; the poller takes it from there.
  console.log('\nREDEMPTION');
  started = Date.now();
  const provider = new JsonRpcProvider(sandbox.rpcUrl, sandbox.chainId, { staticNetwork: true, cacheTimeout: -1 });
  const ap = new Wallet(sandbox.apDevnetPrivateKey, provider);
  const token = new Contract(sandbox.vault, ['function transfer(address,uint256) returns (bool)'], ap);
  const receipt = await (await token.getFunction('transfer')(sandbox.redemptionWallet, 4n * 10n ** 18n)).wait();
  console.log(`  AP → transfer 4 tAAPL to the redemption wallet: tx ${receipt!.hash} (block ${receipt!.blockNumber})`);
  const redemption = await follow(redemptionDefinition, redemptionFlowId(sandbox.network, receipt!.hash, receipt!.logs[0]!.index), started);
  const c = redemption.flow.snapshot.context;
  console.log(`  final state: ${redemption.flow.state}; Alpaca request ${c.tokenizationRequestId}; burn tx ${c.burnTxHash}; receipts used ${JSON.stringify(c.receiptsUsed)}`);
  console.log(`  ${Date.now() - started} ms from the transfer to the burn (1 s blocks, 1 confirmation)`);
  provider.destroy();
  if (!redemption.flow.tags.includes(TAGS.burnRecorded)) process.exit(1);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
