import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ARCHITECTURE_NOTE, folderChart, readImportGraph, withChart } from '../../tools/architecture/import-graph';

describe('architecture: layers', function () {
  this.timeout(120_000);
  let graph: Awaited<ReturnType<typeof readImportGraph>>;
  before(async () => {
    graph = await readImportGraph();
  });

  it('reads the whole layered source (the graph is not empty)', () => {
    assert.ok(Object.keys(graph.files).length > 100, `only ${Object.keys(graph.files).length} files read`);
    assert.ok(graph.folders.size > 10);
  });

  it('has no import cycle between files', () => {
    assert.deepEqual(graph.cycles, []);
  });

  it('imports only downwards: no folder imports a sibling or a higher layer', () => {
    assert.deepEqual(graph.violations, []);
  });

  it('docs/architecture.md shows the current folder graph (npm run architecture writes it)', () => {
    const note = fs.readFileSync(ARCHITECTURE_NOTE, 'utf8');
    assert.equal(note, withChart(note, folderChart(graph)), 'the import graph in docs/architecture.md is out of date: run npm run architecture');
  });
});
