import type { Knex } from 'knex';

// Views: projections of the journal. They can be dropped and rebuilt from it (see persistence/replay.ts).
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('authorized_participants', (t) => {
    t.string('ap_id', 26).primary();
    t.string('email', 320).notNullable().unique();
    t.string('name', 200);
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
  });
  await db.schema.createTable('ap_wallets', (t) => {
    t.string('ap_id', 26).notNullable();
    t.string('network', 40).notNullable();
    t.string('address', 100).notNullable(); // lower-case for EVM networks
    t.primary(['network', 'address']);
    t.index(['ap_id']);
  });
  await db.schema.createTable('account_links', (t) => {
    t.string('ap_id', 26).primary();
    t.string('email', 320).notNullable();
    t.string('client_account_number', 100).notNullable().unique();
    t.string('linked_at', 30).notNullable();
  });
  await db.schema.createTable('tokenized_assets', (t) => {
    t.string('asset_id', 26).primary();
    t.string('underlying_symbol', 20).notNullable();
    t.string('token_symbol', 40).notNullable();
    t.string('network', 40).notNullable();
    t.string('vault_address', 100).notNullable();
    t.integer('decimals').notNullable();
    t.boolean('enabled').notNullable();
    t.boolean('halted').notNullable();
    t.string('halt_reason', 500);
    t.string('created_at', 30).notNullable();
    t.string('updated_at', 30).notNullable();
    t.unique(['token_symbol', 'network']);
  });
}

export async function down(db: Knex): Promise<void> {
  for (const table of ['tokenized_assets', 'account_links', 'ap_wallets', 'authorized_participants']) await db.schema.dropTableIfExists(table);
}
