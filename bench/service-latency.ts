import { redemptionFlowId } from '../core/flow-ids';
import crypto from 'node:crypto';
import path from 'node:path';
import { FlowHost } from '../runtime/flow-host';
import { openDatabase } from '../persistence/database';
import { appendToJournal } from '../persistence/journal';
import { mintDefinition } from '../server/flows/mint';
import { mintInput as benchMintInput } from './journal';
import { startMintEnv, waitForState } from '../test/support/mint-env';
import { mineBlocks, sendToRedemptionWallet, units } from '../test/support/redemption-helpers';
import { tempDir } from '../test/support/service';
import { summarize, timed } from './stats';

/**
 * `npm run bench`: the figures quoted in the README and closing notes. Medians over many samples, on
 * a real SQLite file (WAL) and a real anvil devnet; run it on an otherwise idle machine.
 */
const N_APPEND = Number(process.env.BENCH_APPENDS ?? 2000);
const N_ACCEPT = Number(process.env.BENCH_ACCEPTS ?? 300);
const N_E2E = Number(process.env.BENCH_MINTS ?? 30);
const N_REDEEM = Number(process.env.BENCH_REDEMPTIONS ?? 20);

const mintInput = (i: number) => benchMintInput(`bench-${i}`);

async function journalBench() {
  const db = await openDatabase({ client: 'sqlite', filename: path.join(tempDir('issuance-bench-'), 'bench.sqlite') });
  const raw: number[] = [];
  for (let i = 0; i < N_APPEND; i++) {
    raw.push(await timed(() => db.transaction((trx) => appendToJournal(trx, { flowId: `raw-${i}`, flowType: 'bench', seq: 1, type: 'X', payload: { type: 'X', i }, recordedAt: new Date().toISOString(), machineVersion: 'bench' }))));
  }
  const host = new FlowHost(db, [mintDefinition]);
  const starts: number[] = [];
  const sends: number[] = [];
  for (let i = 0; i < N_APPEND / 2; i++) {
    starts.push(await timed(() => host.start('mint', `mint:bench-${i}`, mintInput(i))));
    sends.push(await timed(() => host.send(`mint:bench-${i}`, { type: 'JOURNAL_CONFIRMED' })));
  }
  await db.destroy();
  return { rawAppend: summarize(raw), flowStart: summarize(starts), flowSend: summarize(sends) };
}

async function serviceBench() {
  const env = await startMintEnv({ runner: { pollMs: 250 }, poller: { pollMs: 250 } });
  try {
    const body = (over: Record<string, unknown> = {}) => ({ tokenization_request_id: crypto.randomUUID(), qty: '1.5', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId, ...over });
    const accept: number[] = [];
    for (let i = 0; i < N_ACCEPT; i++) {
      const b = body();
      accept.push(await timed(async () => {
        const r = await env.alpaca.requestMint(b);
        if (r.status !== 200) throw new Error(`accept failed ${r.status}`);
      }));
    }
    const e2e: number[] = [];
    for (let i = 0; i < N_E2E; i++) {
      const b = body();
      e2e.push(await timed(async () => {
        const created = await env.alpaca.requestMint(b);
        await env.alpaca.confirmMint(b.tokenization_request_id, created.body.issuer_request_id, 'completed');
        await waitForState(env.svc, `mint:${b.tokenization_request_id}`, ['completed'], 30_000);
      }));
    }
    // Redemptions: the AP sends tokens back; one more block buries the transfer under the 1 confirmation.
    const detection: number[] = [];
    const redemption: number[] = [];
    for (let i = 0; i < N_REDEEM; i++) {
      const started = process.hrtime.bigint();
      const t = await sendToRedemptionWallet(env, units('0.5'));
      await mineBlocks(env, 1);
      const confirmedAt = process.hrtime.bigint();
      const receipt = await env.provider.getTransactionReceipt(t.txHash);
      const flowId = redemptionFlowId('base', t.txHash, receipt!.logs[0]!.index);
      while (!(await env.svc.host.get(flowId))) await new Promise((r) => setTimeout(r, 2));
      detection.push(Number(process.hrtime.bigint() - confirmedAt) / 1e6);
      await waitForState(env.svc, flowId, ['completed'], 30_000);
      redemption.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return { acceptPostMint: summarize(accept), endToEndMint: summarize(e2e), detectionAfterConfirmingBlock: summarize(detection), endToEndRedemption: summarize(redemption) };
  } finally {
    await env.close();
  }
}

async function main() {
  const journal = await journalBench();
  console.log('journal (SQLite file, WAL; ms per operation, one transaction each):');
  console.log(`  raw journal append      ${JSON.stringify(journal.rawAppend)}`);
  console.log(`  flow start (mint)       ${JSON.stringify(journal.flowStart)}   (append + snapshot + timer row + view row)`);
  console.log(`  flow send (confirm)     ${JSON.stringify(journal.flowSend)}   (transition + append + snapshot check + outbox row + view row)`);
  const service = await serviceBench();
  console.log('service over HTTP (fake Alpaca → Koa → host → SQLite; anvil automine, 1 confirmation):');
  console.log(`  accept POST /tokenization/mint   ${JSON.stringify(service.acceptPostMint)}`);
  console.log(`  end-to-end mint (request → confirm → deposit confirmed → callback acknowledged)  ${JSON.stringify(service.endToEndMint)}`);
  console.log(`  redemption detection (after the block that gives the transfer its 1 confirmation; poller every 250 ms)  ${JSON.stringify(service.detectionAfterConfirmingBlock)}`);
  console.log(`  end-to-end redemption (transfer → detected → Alpaca redeem → completed poll → burn confirmed)  ${JSON.stringify(service.endToEndRedemption)}`);
  console.log(`rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`);
}

void main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
