import type { Knex } from 'knex';

/**
 * What was parsed out of ids becomes a column, written when the row is: a chain transaction's
 * `purpose` (mint, burn or return; was the intent id's prefix) and a detected transfer's
 * `generation` (how many times it was mined again after a reorg; was the flow id's fifth part).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('chain_transactions', (t) => {
    t.string('purpose', 20);
  });
  for (const purpose of ['mint', 'burn', 'return']) {
    await db('chain_transactions').where('intent_id', 'like', `${purpose}:%`).update({ purpose });
  }
  await db.schema.alterTable('detected_transfers', (t) => {
    t.integer('generation').notNullable().defaultTo(0);
  });
  const rows: Array<{ network: string; tx_hash: string; log_index: number; flow_id: string }> = await db('detected_transfers').select('network', 'tx_hash', 'log_index', 'flow_id');
  for (const r of rows) {
    // redemption:<network>:<tx>:<log>[:<generation>] — read once here, never again.
    const generation = Number(r.flow_id.split(':')[4] ?? 0);
    if (generation) await db('detected_transfers').where({ network: r.network, tx_hash: r.tx_hash, log_index: r.log_index }).update({ generation });
  }
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('chain_transactions', (t) => {
    t.dropColumn('purpose');
  });
  await db.schema.alterTable('detected_transfers', (t) => {
    t.dropColumn('generation');
  });
}
