import type { Knex } from 'knex';
import * as m001 from './001_journal_and_flows';
import * as m002 from './002_registry_views';
import * as m003 from './003_mint';
import * as m004 from './004_redemption';
import * as m005 from './005_outbox_issued_in';
import * as m006 from './006_leases';
import * as m007 from './007_risk_controls';
import * as m008 from './008_journal_hash_chain';
import * as m009 from './009_flow_journal_hash';
import * as m010 from './010_flow_tags';
import * as m011 from './011_identity_columns';

type Migration = { up(db: Knex): Promise<void>; down(db: Knex): Promise<void> };
const migrations: Record<string, Migration> = {
  '001_journal_and_flows': m001,
  '002_registry_views': m002,
  '003_mint': m003,
  '004_redemption': m004,
  '005_outbox_issued_in': m005,
  '006_leases': m006,
  '007_risk_controls': m007,
  '008_journal_hash_chain': m008,
  '009_flow_journal_hash': m009,
  '010_flow_tags': m010,
  '011_identity_columns': m011,
};

/** Migrations are imported, not globbed from disk, so they run the same under tsx, compiled JS and bundlers. */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};
