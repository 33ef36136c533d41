import { redemptionFlowId } from '../core/flow-ids';
import { knexOf } from '../persistence/transaction';
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { monotonicFactory } from 'ulid';
import { FlowHost } from '../runtime/flow-host';
import type { FlowEvent } from '../persistence/flow-definition';
import type { MintInput } from '../machines/mint';
import type { RedemptionInput } from '../machines/redemption';
import { GENESIS_HASH, hashedFieldsOfRow, journalRowHash } from '../persistence/journal-hash';
import { FLOW_DEFINITIONS } from '../server/flows/definitions';

/**
 * Seeds a database with in-flight mints and redemptions for the restore bench. The host takes about
 * 7 ms per event on SQLite here, so 10,000 flows through it would take minutes: a few hundred
 * "template" flows go through the real FlowHost (real definitions, so journal, snapshots, outbox and
 * timer rows are genuine), and the rest are copies of their rows with fresh ids, the journal re-chained.
 */

const VAULT = '0x' + '11'.repeat(20);
const AP_WALLET = '0x' + '22'.repeat(20);
const STRANGER = '0x' + '33'.repeat(20);
const randomHash = () => '0x' + crypto.randomBytes(32).toString('hex');
/** An ERC-1155 receipt id: long enough that replacing it in row text cannot hit another number. */
const randomReceiptId = () => (BigInt('0x' + crypto.randomBytes(12).toString('hex')) + 10n ** 28n).toString();

/** The waiting states a restart finds flows in, and how many of each in 20. */
const MIX: Array<{ kind: Kind; weight: number }> = [
  { kind: 'mint.awaitingJournal', weight: 4 },
  { kind: 'mint.minting.submitting', weight: 2 },
  { kind: 'mint.minting.confirming', weight: 2 },
  { kind: 'mint.callingBack', weight: 1 },
  { kind: 'mint.journalOverdue', weight: 1 },
  { kind: 'mint.awaitingApproval', weight: 1 },
  { kind: 'redemption.callingAlpaca', weight: 2 },
  { kind: 'redemption.awaitingAlpaca.checking', weight: 2 },
  { kind: 'redemption.awaitingAlpaca.waiting', weight: 3 },
  { kind: 'redemption.burning.submitting', weight: 1 },
  { kind: 'redemption.unknownSender', weight: 1 },
];
type Kind =
  | 'mint.awaitingJournal'
  | 'mint.minting.submitting'
  | 'mint.minting.confirming'
  | 'mint.callingBack'
  | 'mint.journalOverdue'
  | 'mint.awaitingApproval'
  | 'redemption.callingAlpaca'
  | 'redemption.awaitingAlpaca.checking'
  | 'redemption.awaitingAlpaca.waiting'
  | 'redemption.burning.submitting'
  | 'redemption.unknownSender';

const kindAt = (() => {
  const wheel = MIX.flatMap((m) => Array<Kind>(m.weight).fill(m.kind));
  return (i: number) => wheel[i % wheel.length]!;
})();

/** A template flow and the strings that make it unique (replaced in every copy). */
interface Template {
  flowId: string;
  flowType: 'mint' | 'redemption';
  kind: Kind;
  uuids: string[];
  hashes: string[];
  receiptIds: string[];
}

/** Answers an effect the way the outbox runner does: the result event and the row's `done` commit together. */
async function answerEffect(host: FlowHost, db: Knex, flowId: string, effectType: string, event: FlowEvent): Promise<void> {
  const row = await db('outbox').where({ flow_id: flowId, type: effectType, status: 'pending' }).first();
  if (!row) throw new Error(`${flowId}: no pending ${effectType}`);
  await host.send(flowId, event, { causationId: row.effect_id, within: async (tx) => void (await knexOf(tx)('outbox').where({ effect_id: row.effect_id }).update({ status: 'done', lease_until: 0, updated_at: new Date().toISOString() })) });
}

/** Fires a timer the way the timer scheduler does: its row is deleted in the event's transaction. */
async function fireTimer(host: FlowHost, db: Knex, flowId: string, sendId: string): Promise<void> {
  const row = await db('timers').where({ flow_id: flowId, send_id: sendId }).first();
  if (!row) throw new Error(`${flowId}: no timer ${sendId}`);
  await host.send(flowId, JSON.parse(row.event), { causationId: row.timer_id, within: async (tx) => void (await knexOf(tx)('timers').where({ timer_id: row.timer_id }).delete()) });
}

async function seedMint(host: FlowHost, db: Knex, kind: Kind): Promise<Template> {
  const trid = crypto.randomUUID();
  const issuerRequestId = crypto.randomUUID();
  const flowId = `mint:${trid}`;
  const input: MintInput = {
    tokenizationRequestId: trid,
    issuerRequestId,
    requestHash: crypto.createHash('sha256').update(trid).digest('hex'),
    apId: '01JAPBENCHRESTORE000000000',
    clientRef: { client_external_account_id: '01JAPBENCHRESTORE000000000' },
    assetId: '01JASSETBENCHRESTORE000000',
    underlyingSymbol: 'AAPL',
    tokenSymbol: 'tAAPL',
    network: 'base',
    vaultAddress: VAULT,
    decimals: 18,
    walletAddress: AP_WALLET,
    qty: '2.5',
    amountUnits: (25n * 10n ** 17n).toString(),
    journalTimeoutMs: 60 * 60 * 1000,
  };
  const t: Template = { flowId, flowType: 'mint', kind, uuids: [trid, issuerRequestId], hashes: [], receiptIds: [] };
  await host.start('mint', flowId, input);
  if (kind === 'mint.awaitingJournal') return t;
  if (kind === 'mint.journalOverdue') return fireTimer(host, db, flowId, 'journalTimeout').then(() => t);
  if (kind === 'mint.awaitingApproval') return host.send(flowId, { type: 'JOURNAL_CONFIRMED', approvalThreshold: '1' }).then(() => t);
  await host.send(flowId, { type: 'JOURNAL_CONFIRMED' });
  if (kind === 'mint.minting.submitting') return t;
  const txHash = randomHash();
  t.hashes.push(txHash);
  await answerEffect(host, db, flowId, 'submitMintTransaction', { type: 'MINT_TX_SENT', txHash, nonce: 7 });
  if (kind === 'mint.minting.confirming') return t;
  const receiptId = randomReceiptId();
  t.receiptIds.push(receiptId);
  await answerEffect(host, db, flowId, 'awaitMintConfirmations', { type: 'MINT_CONFIRMED', txHash, receiptId, blockNumber: 1234 });
  return t; // callingBack
}

async function seedRedemption(host: FlowHost, db: Knex, kind: Kind): Promise<Template> {
  const txHash = randomHash();
  const flowId = redemptionFlowId('base', txHash, 0);
  const known = kind !== 'redemption.unknownSender';
  const input: RedemptionInput = {
    network: 'base',
    txHash,
    logIndex: 0,
    blockNumber: 1300,
    sender: known ? AP_WALLET : STRANGER,
    amountUnits: (3n * 10n ** 18n).toString(),
    assetId: '01JASSETBENCHRESTORE000000',
    underlyingSymbol: 'AAPL',
    tokenSymbol: 'tAAPL',
    vaultAddress: VAULT,
    decimals: 18,
    apId: known ? '01JAPBENCHRESTORE000000000' : null,
    clientRef: known ? { client_external_account_id: '01JAPBENCHRESTORE000000000' } : null,
    assetHalted: false,
    overDailyCap: null,
    earlierFlowState: null,
    qty: '3',
    qtyUnits: (3n * 10n ** 18n).toString(),
    dustUnits: '0',
    pollIntervalMs: 5_000,
    alpacaDeadlineMs: 24 * 60 * 60 * 1000,
  };
  const t: Template = { flowId, flowType: 'redemption', kind, uuids: [], hashes: [txHash], receiptIds: [] };
  // As the transfer poller starts it: the detected transfer is recorded with the flow's first event.
  await host.start('redemption', flowId, input, {
    correlationId: txHash,
    within: async (tx) => {
          const trx = knexOf(tx);
      await trx('detected_transfers').insert({ network: 'base', tx_hash: txHash, log_index: 0, vault_address: VAULT, block_number: 1300, block_hash: '0x' + 'ab'.repeat(32), flow_id: flowId, status: 'live', detected_at: new Date().toISOString() });
    },
  });
  if (kind === 'redemption.callingAlpaca' || kind === 'redemption.unknownSender') return t;
  const alpacaRequestId = crypto.randomUUID();
  t.uuids.push(alpacaRequestId);
  await answerEffect(host, db, flowId, 'requestRedemption', { type: 'REDEEM_ACCEPTED', tokenizationRequestId: alpacaRequestId, status: 'pending' });
  if (kind === 'redemption.awaitingAlpaca.checking') return t;
  await answerEffect(host, db, flowId, 'pollRedemption', { type: 'ALPACA_PENDING' });
  if (kind === 'redemption.awaitingAlpaca.waiting') return t;
  await fireTimer(host, db, flowId, 'pollDue');
  await answerEffect(host, db, flowId, 'pollRedemption', { type: 'ALPACA_COMPLETED' });
  return t; // burning.submitting
}

/** Runs `templates` flows through the real host, a few at a time (each flow's own events in order). */
export async function seedTemplates(db: Knex, templates: number): Promise<Template[]> {
  const host = new FlowHost(db, FLOW_DEFINITIONS);
  const out: Template[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < templates; i = next++) {
      const kind = kindAt(i);
      out.push(await (kind.startsWith('mint.') ? seedMint(host, db, kind) : seedRedemption(host, db, kind)));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

const ESCAPE = /[.*+?^${}()|[\]\\]/g;

/** Every row of one template flow, read once. */
async function templateRows(db: Knex, t: Template) {
  const journal = await db('journal').where({ flow_id: t.flowId }).orderBy('seq');
  const rows: Record<string, any[]> = {
    flows: await db('flows').where({ flow_id: t.flowId }),
    outbox: await db('outbox').where({ flow_id: t.flowId }),
    timers: await db('timers').where({ flow_id: t.flowId }),
    ...(t.flowType === 'mint'
      ? { mint_view: await db('mint_view').where({ tokenization_request_id: t.uuids[0] }), receipt_inventory: await db('receipt_inventory').where({ minted_by: t.uuids[0] }) }
      : { redemption_view: await db('redemption_view').where({ flow_id: t.flowId }), detected_transfers: await db('detected_transfers').where({ flow_id: t.flowId }) }),
  };
  for (const r of journal) delete r.position; // the copy gets its own place in the global order
  return { journal, rows, ulids: [...journal.map((r) => r.event_id), ...rows.outbox!.map((r) => r.effect_id), ...rows.timers!.map((r) => r.timer_id)] };
}

/**
 * Copies the templates' rows until there are `total` flows: every id (flow, request ids, transaction
 * hashes and the prefix of one the redemption's issuer request id carries, receipt ids, event, effect
 * and timer ids) is replaced by a fresh one, and each copied journal is re-chained from genesis.
 */
export async function cloneTemplates(db: Knex, templates: Template[], total: number): Promise<number> {
  const copies = total - templates.length;
  if (copies <= 0) return 0;
  const batch: Record<string, any[]> = {};
  const add = (table: string, row: any) => (batch[table] ??= []).push(row);
  const sources = await Promise.all(
    templates.map(async (t) => {
      const r = await templateRows(db, t);
      const keys = [...t.uuids, ...t.hashes, ...t.hashes.map((h) => h.slice(2, 18)), ...t.receiptIds, ...r.ulids];
      // Longest first, so a whole hash is replaced before the prefix of it an issuer request id carries.
      const pattern = new RegExp(keys.sort((a, b) => b.length - a.length).map((k) => k.replace(ESCAPE, '\\$&')).join('|'), 'g');
      return { t, ...r, pattern };
    }),
  );
  // Draws randomness once per millisecond, not once per character: plain ulid() dominated the copying.
  const ulid = monotonicFactory();
  for (let i = 0; i < copies; i++) {
    const { t, journal, rows, ulids, pattern } = sources[i % sources.length]!;
    const fresh = new Map<string, string>();
    for (const u of t.uuids) fresh.set(u, crypto.randomUUID());
    for (const h of t.hashes) {
      const n = randomHash();
      fresh.set(h, n);
      fresh.set(h.slice(2, 18), n.slice(2, 18));
    }
    for (const r of t.receiptIds) fresh.set(r, randomReceiptId());
    for (const u of ulids) fresh.set(u, ulid());
    const copy = (row: any) => JSON.parse(JSON.stringify(row).replace(pattern, (m) => fresh.get(m)!));
    let prevHash = GENESIS_HASH;
    for (const row of journal) {
      const c = copy(row);
      c.prev_hash = prevHash;
      c.hash = journalRowHash(prevHash, hashedFieldsOfRow(c));
      prevHash = c.hash;
      add('journal', c);
    }
    for (const [table, list] of Object.entries(rows)) {
      for (const row of list) {
        const c = copy(row);
        // Where the flow row carries its last journal hash (migration 009), it is the copy's own.
        if (table === 'flows' && 'journal_hash' in c) c.journal_hash = prevHash;
        add(table, c);
      }
    }
  }
  await db.transaction(async (trx) => {
    for (const [table, list] of Object.entries(batch)) {
      // Knex inserts a batch as one compound SELECT: at most 500 terms, and well under the bound-variable limit.
      const chunk = Math.max(1, Math.min(500, Math.floor(8000 / Object.keys(list[0]).length)));
      await db.batchInsert(table, list, chunk).transacting(trx);
    }
  });
  return copies;
}

/**
 * Recomputes the hash chains of some seeded flows (the copies among them) the way the audit does:
 * each row's hash from the previous row's and its own fields; and the flow row's copy of the last hash.
 */
export async function verifySampleChains(db: Knex, sample: number): Promise<{ flows: number; broken: string[] }> {
  const ids = (await db('flows').select('flow_id')).map((r) => r.flow_id as string);
  const step = Math.max(1, Math.floor(ids.length / sample));
  const picked = ids.filter((_, i) => i % step === 0);
  const broken: string[] = [];
  for (const flowId of picked) {
    let prevHash = GENESIS_HASH;
    let intact = true;
    for (const row of await db('journal').where({ flow_id: flowId }).orderBy('seq')) {
      intact &&= row.prev_hash === prevHash && row.hash === journalRowHash(prevHash, hashedFieldsOfRow(row));
      prevHash = row.hash;
    }
    const flow = await db('flows').where({ flow_id: flowId }).first();
    if (!intact || ('journal_hash' in flow && flow.journal_hash !== prevHash)) broken.push(flowId);
  }
  return { flows: picked.length, broken };
}

/** A predecessor killed mid-effect leaves some outbox rows leased; the start-up releases them. */
export async function leaveLeases(db: Knex, everyNth: number): Promise<number> {
  const pending = await db('outbox').where({ status: 'pending' }).select('effect_id');
  const leased = pending.filter((_, i) => i % everyNth === 0).map((r) => r.effect_id as string);
  for (let i = 0; i < leased.length; i += 500) {
    await db('outbox').whereIn('effect_id', leased.slice(i, i + 500)).update({ lease_until: Date.now() + 60_000, attempts: 1 });
  }
  return leased.length;
}

export type { Template };
