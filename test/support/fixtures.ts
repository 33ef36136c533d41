import type { Knex } from 'knex';

export async function createPayoutView(db: Knex): Promise<void> {
  if (await db.schema.hasTable('payout_view')) return;
  await db.schema.createTable('payout_view', (t) => {
    t.string('flow_id').primary();
    t.string('state').notNullable();
    t.integer('total').notNullable();
  });
}

export async function count(db: Knex, table: string, where: Record<string, unknown> = {}): Promise<number> {
  const [row] = await db(table).where(where).count({ n: '*' });
  return Number(row?.n ?? 0);
}
