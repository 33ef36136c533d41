import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TEST_DATABASE_URL } from '../support/test-database';
import { tempDir } from '../support/service';

/**
 * `npm run bench --quick` still works: every section runs to the end and reports finite figures with
 * their targets. Its speed is not checked here (benchmarks are scripts, not timed tests). The bench
 * picks its own databases, so it runs once, in the SQLite run of the suite.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const SECTIONS = ['accept', 'journal', 'mints', 'restore', 'peer'];

(TEST_DATABASE_URL ? describe.skip : describe)('npm run bench --quick (smoke)', function () {
  this.timeout(8 * 60_000);

  it('runs every section and writes results with figures, targets and the machine', async () => {
    const out = path.join(tempDir('issuance-bench-smoke-'), 'results.json');
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'run.ts'), '--quick', '--out', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d) => (err += d.toString()));
      child.on('exit', (c) => resolve({ code: c, stderr: err }));
    });
    assert.equal(code, 0, `bench exited ${code}: ${stderr.slice(-3000)}`);
    const results = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.equal(results.quick, true);
    assert.ok(results.machine.cores >= 1 && /^v\d+/.test(results.machine.node));
    assert.deepEqual(results.sections.map((s: any) => s.id), SECTIONS);
    for (const section of results.sections) {
      // Only the peer comparison may be skipped, and only without a PostgreSQL server (CI has one).
      if (section.skipped) {
        assert.equal(section.id, 'peer', `${section.id} did not run: ${section.skipped}`);
        assert.notEqual(process.env.REQUIRE_POSTGRES, '1', `peer comparison skipped: ${section.skipped}`);
        continue;
      }
      assert.ok(section.figures.length > 0, `${section.id} has no figures`);
      for (const f of section.figures) {
        assert.ok(Number.isFinite(f.value) && f.value >= 0, `${section.id}: ${f.name} = ${f.value}`);
        if (f.baseline) assert.ok(Number.isFinite(f.baseline.value) && f.baseline.value > 0, `${section.id}: ${f.name} baseline ${f.baseline.value}`);
      }
      assert.ok(section.figures.some((f: any) => f.target || f.ratioTarget), `${section.id} holds no figure to a target`);
    }
  });
});
