import path from 'node:path';
import { openTestDatabase } from '../support/test-database';
import { checkViews, verifySnapshots } from '../../persistence/replay';
import { FLOW_DEFINITIONS } from '../../server/flows/definitions';

/**
 * Run by the soak as its own process after the service stopped, so it checks the database with the code
 * the service last ran (the soak's own process may have loaded older modules). Prints one JSON line.
 */
export interface DbVerdict {
  flows: number;
  events: number;
  mismatches: Array<{ flowId: string; stored: unknown; replayed: unknown }>;
  viewTables: number;
  viewsDiffering: string[];
  unsettled: Array<{ flow_id: string; state: string; status: string }>;
}

async function main(): Promise<void> {
  const dataDir = process.argv[2];
  if (!dataDir) throw new Error('usage: verify-db <dataDir>');
  const db = await openTestDatabase(dataDir);
  try {
    const replay = await verifySnapshots(db, FLOW_DEFINITIONS);
    const views = await checkViews(db, FLOW_DEFINITIONS);
    const rows = await db('flows').select('flow_id', 'state', 'status', 'needs_operator');
    const verdict: DbVerdict = {
      flows: replay.flows,
      events: replay.events,
      mismatches: replay.mismatches,
      viewTables: views.tables,
      viewsDiffering: views.differing,
      unsettled: rows.filter((r: any) => r.status !== 'done' && !r.needs_operator).map((r: any) => ({ flow_id: r.flow_id, state: r.state, status: r.status })),
    };
    process.stdout.write(`${JSON.stringify(verdict)}\n`);
  } finally {
    await db.destroy();
  }
}

// Only when run as a script: mocha given the test/soak folder loads every .ts in it, and this one would
// then take mocha's next argument for a data directory and create a database there.
if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
