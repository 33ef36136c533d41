import type { Knex } from 'knex';

// View: the operators' risk controls, a projection of the `controls` entity journal (persistence/controls/).
// One row per scope: `global` holds the emergency pause, `asset:<id>` an asset's limits (null: no limit).
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('risk_controls', (t) => {
    t.string('scope', 40).primary();
    t.string('asset_id', 26);
    t.boolean('paused').notNullable();
    t.string('pause_reason', 500);
    // Quantities of the underlying (decimal strings, at most 9 places), like `qty` in the flow views.
    t.string('max_request_qty', 40);
    t.string('daily_mint_cap', 40);
    t.string('daily_redemption_cap', 40);
    t.string('approval_threshold', 40);
    t.string('updated_by', 200);
    t.string('updated_at', 30).notNullable();
  });
  // The daily caps sum an asset's flows of one UTC day, on every mint request and detected transfer.
  await db.schema.alterTable('mint_view', (t) => t.index(['token_symbol', 'network', 'created_at'], 'mint_view_asset_day'));
  await db.schema.alterTable('redemption_view', (t) => t.index(['token_symbol', 'network', 'created_at'], 'redemption_view_asset_day'));
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('redemption_view', (t) => t.dropIndex(['token_symbol', 'network', 'created_at'], 'redemption_view_asset_day'));
  await db.schema.alterTable('mint_view', (t) => t.dropIndex(['token_symbol', 'network', 'created_at'], 'mint_view_asset_day'));
  await db.schema.dropTable('risk_controls');
}
