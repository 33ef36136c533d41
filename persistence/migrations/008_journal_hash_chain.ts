import type { Knex } from 'knex';
import { GENESIS_HASH, hashedFieldsOfRow, journalRowHash } from '../journal-hash';

const PAGE = 500;

/**
 * Tamper evidence for the journal: each row carries the hash of its flow's previous row and its own
 * hash over that and its fields (journal-hash.ts). Rows written before this migration are chained
 * here, flow by flow in seq order, exactly as appendToJournal would have chained them.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('journal', (t) => {
    t.string('prev_hash', 64);
    t.string('hash', 64);
    // Audit exports select a time range.
    t.index(['recorded_at']);
  });
  let after: { flowId: string; seq: number } | undefined;
  let prevHash = GENESIS_HASH;
  for (;;) {
    const page = db('journal').orderBy([{ column: 'flow_id' }, { column: 'seq' }]).limit(PAGE);
    if (after) {
      const a = after;
      page.where((w) => w.where('flow_id', '>', a.flowId).orWhere((x) => x.where('flow_id', a.flowId).andWhere('seq', '>', a.seq)));
    }
    const rows: Array<Record<string, any>> = await page;
    if (rows.length === 0) return;
    for (const row of rows) {
      if (row.flow_id !== after?.flowId) prevHash = GENESIS_HASH;
      const hash = journalRowHash(prevHash, hashedFieldsOfRow(row));
      await db('journal').where({ position: row.position }).update({ prev_hash: prevHash, hash });
      prevHash = hash;
      after = { flowId: row.flow_id, seq: Number(row.seq) };
    }
  }
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('journal', (t) => {
    t.dropIndex(['recorded_at']);
    t.dropColumn('hash');
    t.dropColumn('prev_hash');
  });
}
