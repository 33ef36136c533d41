import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // View: one row per tokenization request.
  await db.schema.createTable('mint_view', (t) => {
    t.string('tokenization_request_id', 100).primary();
    t.string('issuer_request_id', 36).notNullable().unique();
    t.string('ap_id', 26).notNullable();
    t.string('underlying_symbol', 20).notNullable();
    t.string('token_symbol', 40).notNullable();
    t.string('network', 40).notNullable();
    t.string('qty', 40).notNullable();
    t.string('wallet_address', 100).notNullable();
    t.string('state', 80).notNullable();
    t.boolean('needs_operator').notNullable();
    t.string('tx_hash', 66);
    t.string('receipt_id', 78);
    t.string('failure', 500);
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.index(['state']);
  });
  // View: vault receipts we hold and the shares each still backs (burns draw them down).
  await db.schema.createTable('receipt_inventory', (t) => {
    t.string('vault_address', 42).notNullable();
    t.string('receipt_id', 78).notNullable();
    t.string('network', 40).notNullable();
    t.string('token_symbol', 40).notNullable();
    t.string('shares_minted', 78).notNullable();
    t.string('shares_remaining', 78).notNullable();
    t.string('minted_by', 100).notNullable(); // tokenization request id
    t.string('tx_hash', 66).notNullable();
    t.integer('block_number').notNullable();
    t.string('created_at', 30).notNullable();
    t.primary(['vault_address', 'receipt_id']);
  });
  // Transaction manager: every signed transaction is stored here before it is broadcast.
  await db.schema.createTable('chain_transactions', (t) => {
    t.string('intent_id', 200).primary(); // e.g. mint:<tokenization request id>#<attempt>
    t.string('flow_id', 200).notNullable();
    t.integer('chain_id').notNullable();
    t.string('from_address', 42).notNullable();
    t.integer('nonce').notNullable();
    t.string('tx_hash', 66).notNullable().unique();
    t.text('raw_tx').notNullable();
    t.string('status', 20).notNullable(); // signed | broadcast | confirmed | reverted
    t.integer('block_number');
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.unique(['chain_id', 'from_address', 'nonce']);
  });
  await db.schema.createTable('chain_nonces', (t) => {
    t.integer('chain_id').notNullable();
    t.string('address', 42).notNullable();
    t.integer('next_nonce').notNullable();
    t.primary(['chain_id', 'address']);
  });
}

export async function down(db: Knex): Promise<void> {
  for (const table of ['chain_nonces', 'chain_transactions', 'receipt_inventory', 'mint_view']) await db.schema.dropTableIfExists(table);
}
