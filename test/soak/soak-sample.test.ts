import assert from 'node:assert/strict';
import { CLEAN_COUNTS, runSoak } from './soak';

/** A short crash-injection soak in the normal suite; `npm run soak` runs the long one. */
describe('crash-injection soak (sample: 8 kills, seed 1)', function () {
  this.timeout(120_000);

  it('every count is clean after 8 SIGKILLs under load', async () => {
    const lines: string[] = [];
    const report = await runSoak({ kills: 8, seed: 1, log: (s) => lines.push(s) });
    const summary = lines.join('\n');
    assert.ok(report.kills >= 8, `only ${report.kills} kills\n${summary}`);
    for (const k of CLEAN_COUNTS) assert.equal(report[k], 0, `${k} is ${report[k]}\n${summary}`);
    assert.deepEqual(report.viewsDiffering, [], summary);
    assert.ok(report.mintsAccepted > 0, summary);
    assert.equal(report.clean, true, summary);
  });
});
