import { loadConfig } from '../server/config';
import { databaseConfig } from '../server/service';
import { FLOW_DEFINITIONS } from '../server/flows/definitions';
import { openDatabase } from './database';
import { checkViews, rebuildViews, verifySnapshots } from './replay';

/**
 * `npm run replay [-- --rebuild]`: folds every journal through its machine and compares with the
 * stored snapshots; checks (or with --rebuild, replaces) every view against a rebuild from the journal.
 * Exits non-zero on any difference.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase(databaseConfig(config));
  try {
    const snapshots = await verifySnapshots(db, FLOW_DEFINITIONS);
    console.log(`snapshots: ${snapshots.flows} flows, ${snapshots.events} events replayed, ${snapshots.mismatches.length} mismatches`);
    for (const m of snapshots.mismatches) console.log(`  mismatch: ${m.flowId}`);
    if (process.argv.includes('--rebuild')) {
      const events = await rebuildViews(db, FLOW_DEFINITIONS);
      console.log(`views rebuilt from ${events} journal events`);
    } else {
      const views = await checkViews(db, FLOW_DEFINITIONS);
      console.log(`views: ${views.tables} tables checked, ${views.differing.length} differ${views.differing.length ? `: ${views.differing.join(', ')}` : ''}`);
      if (views.differing.length) process.exitCode = 1;
    }
    if (snapshots.mismatches.length) process.exitCode = 1;
  } finally {
    await db.destroy();
  }
}

void main();
