import { loadConfig } from '../server/config';
import { databaseConfig } from '../server/service';
import { FLOW_DEFINITIONS } from '../server/flows/definitions';
import { type Database, openDatabase } from '../persistence/database';
import { checkViews, rebuildViews, type SnapshotMismatch, verifySnapshots } from '../persistence/replay';

/** The database the service would open with this environment (`DATA_DIR` / `DATABASE_URL`). */
export function openConfiguredDatabase(env: NodeJS.ProcessEnv = process.env): Promise<Database> {
  return openDatabase(databaseConfig(loadConfig(env)));
}

export interface ReplayReport {
  snapshots: { flows: number; events: number; mismatches: SnapshotMismatch[] };
  /** Present when the views were checked against a rolled-back rebuild. */
  views?: { tables: number; differing: string[] };
  /** Present when the views were rebuilt for real: the number of journal events projected. */
  rebuiltFrom?: number;
  ok: boolean;
}

/** Replays every flow's journal against its snapshot, then checks (or with `rebuild`, replaces) the views. */
export async function replayDatabase(db: Database, options: { rebuild?: boolean } = {}): Promise<ReplayReport> {
  const snapshots = await verifySnapshots(db, FLOW_DEFINITIONS);
  if (options.rebuild) {
    const rebuiltFrom = await rebuildViews(db, FLOW_DEFINITIONS);
    return { snapshots, rebuiltFrom, ok: snapshots.mismatches.length === 0 };
  }
  const views = await checkViews(db, FLOW_DEFINITIONS);
  return { snapshots, views, ok: snapshots.mismatches.length === 0 && views.differing.length === 0 };
}

export function describeReplay(report: ReplayReport): string[] {
  const lines = [`snapshots: ${report.snapshots.flows} flows, ${report.snapshots.events} events replayed, ${report.snapshots.mismatches.length} mismatches`];
  for (const m of report.snapshots.mismatches) lines.push(`  mismatch: ${m.flowId}`);
  if (report.rebuiltFrom !== undefined) lines.push(`views rebuilt from ${report.rebuiltFrom} journal events`);
  if (report.views) lines.push(`views: ${report.views.tables} tables checked, ${report.views.differing.length} differ${report.views.differing.length ? `: ${report.views.differing.join(', ')}` : ''}`);
  return lines;
}

/**
 * `npm run replay [-- --rebuild]`: folds every journal through its machine and compares with the
 * stored snapshots; checks (or with --rebuild, replaces) every view against a rebuild from the journal.
 * Exits non-zero on any difference. The `issuance-bot replay verify` / `views rebuild` commands run the same code.
 */
async function main(): Promise<void> {
  const db = await openConfiguredDatabase();
  try {
    const report = await replayDatabase(db, { rebuild: process.argv.includes('--rebuild') });
    for (const line of describeReplay(report)) console.log(line);
    if (!report.ok) process.exitCode = 1;
  } finally {
    await db.destroy();
  }
}

if (require.main === module) void main();
