import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // Poller position per vault, moved in the same transaction as the flows its blocks started.
  await db.schema.createTable('chain_cursor', (t) => {
    t.string('network', 40).notNullable();
    t.string('vault_address', 42).notNullable();
    t.integer('last_block').notNullable();
    t.string('last_block_hash', 66).notNullable();
    t.string('updated_at', 30).notNullable();
    t.primary(['network', 'vault_address']);
  });
  // Hashes of processed blocks: a stored hash that no longer matches the chain is a reorg.
  await db.schema.createTable('chain_blocks', (t) => {
    t.string('network', 40).notNullable();
    t.integer('block_number').notNullable();
    t.string('block_hash', 66).notNullable();
    t.primary(['network', 'block_number']);
  });
  // Every transfer to the redemption wallet we acted on, once: (network, tx_hash, log_index) is the dedup key.
  await db.schema.createTable('detected_transfers', (t) => {
    t.string('network', 40).notNullable();
    t.string('tx_hash', 66).notNullable();
    t.integer('log_index').notNullable();
    t.string('vault_address', 42).notNullable();
    t.integer('block_number').notNullable();
    t.string('block_hash', 66).notNullable();
    t.string('flow_id', 200).notNullable();
    t.string('status', 20).notNullable(); // live | orphaned
    t.string('detected_at', 30).notNullable();
    t.primary(['network', 'tx_hash', 'log_index']);
    t.index(['network', 'block_number']);
  });
  // Receipts a burn transaction draws on, recorded with the signed transaction (before broadcast).
  await db.schema.createTable('burn_allocations', (t) => {
    t.string('intent_id', 200).notNullable();
    t.string('vault_address', 42).notNullable();
    t.string('receipt_id', 78).notNullable();
    t.string('amount_units', 78).notNullable();
    t.primary(['intent_id', 'receipt_id']);
  });
  await db.schema.createTable('redemption_view', (t) => {
    t.string('flow_id', 200).primary();
    t.string('network', 40).notNullable();
    t.string('tx_hash', 66).notNullable();
    t.integer('log_index').notNullable();
    t.string('sender', 42).notNullable();
    t.string('ap_id', 26);
    t.string('underlying_symbol', 20).notNullable();
    t.string('token_symbol', 40).notNullable();
    t.string('amount_units', 78).notNullable();
    t.string('qty', 40).notNullable();
    t.string('dust_units', 78).notNullable();
    t.string('state', 80).notNullable();
    t.boolean('needs_operator').notNullable();
    t.string('issuer_request_id', 100);
    t.string('tokenization_request_id', 100);
    t.string('burn_tx_hash', 66);
    t.text('receipts_used');
    t.string('return_tx_hash', 66);
    t.string('failure', 500);
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.index(['state']);
  });
}

export async function down(db: Knex): Promise<void> {
  for (const table of ['redemption_view', 'burn_allocations', 'detected_transfers', 'chain_blocks', 'chain_cursor']) await db.schema.dropTableIfExists(table);
}
