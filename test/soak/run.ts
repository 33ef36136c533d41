import { CLEAN_COUNTS, runSoak } from './soak';

/** `npm run soak`: SOAK_KILLS (default 300) SIGKILLs of the service under load, seeded by SOAK_SEED (default: now). */
async function main(): Promise<void> {
  const kills = Number(process.env.SOAK_KILLS ?? 300);
  const seed = Number(process.env.SOAK_SEED ?? Date.now());
  if (!Number.isFinite(kills) || kills < 1 || !Number.isFinite(seed)) throw new Error('SOAK_KILLS must be a positive number and SOAK_SEED a number');
  const report = await runSoak({ kills, seed, log: (s) => console.log(s) });
  const dirty = CLEAN_COUNTS.filter((k) => report[k] !== 0);
  if (report.viewsDiffering.length) dirty.push('viewsDiffering' as never);
  console.log(report.clean ? `soak clean: ${report.kills} kills in ${(report.durationMs / 1000).toFixed(0)} s (seed ${report.seed})` : `soak NOT clean (seed ${report.seed}): ${dirty.join(', ') || 'too few kills'}`);
  process.exit(report.clean ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
