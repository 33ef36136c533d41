import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setup } from 'xstate';
import { type DiagramArtifacts, DIAGRAM_SOURCES, buildArtifacts } from '../../tools/diagrams/artifacts';
import { STYLE, toDot } from '../../tools/diagrams/dot';
import { machineDiagram } from '../../tools/diagrams/graph';
import { mermaidId, toMermaid } from '../../tools/diagrams/mermaid';
import { README_END, README_START, readmeBlock, replaceReadmeBlock } from '../../tools/diagrams/readme-block';
import { renderSvg } from '../../tools/diagrams/svg';
import { NEEDS_OPERATOR_TAG } from '../../persistence/flow-definition';
import { type MachineShape, machineShape } from './machine-shape';

const ROOT = path.resolve(__dirname, '..', '..');
const STALE = 'run `npm run diagrams` and commit the result';

/** Edges as `source -> target : label`, with the label the renderers are expected to write. */
function expectedEdges(shape: MachineShape): string[] {
  return shape.transitions
    .flatMap((t) => (t.targets.length ? t.targets : [t.source]).map((target) => `${t.source} -> ${target} : ${t.event || 'always'}${t.guard ? ` [${t.guard}]` : ''}`))
    .sort();
}

/** The DOT's edges, with the "entered here" dots of clusters read back as the compound states they stand for. */
function dotEdges(dot: string): string[] {
  const out: string[] = [];
  for (const m of dot.matchAll(/^\s*"([^"]+)" -> "([^"]+)"(?: \[(.*)\])?;$/gm)) {
    const attrs = m[3] ?? '';
    const label = /label="([^"]*)"/.exec(attrs)?.[1];
    if (label === undefined) continue; // a cluster's initial arrow
    const from = /ltail=/.test(attrs) ? m[1]!.replace(/\.__entry$/, '') : m[1];
    const to = /lhead=/.test(attrs) ? m[2]!.replace(/\.__entry$/, '') : m[2];
    out.push(`${from} -> ${to} : ${label}`);
  }
  return out.sort();
}

/** The SVG group Graphviz draws for one node (its <title> is the DOT node id). */
function svgNode(svg: string, id: string): string {
  const m = new RegExp(`<g id="node\\d+" class="node">\\s*<title>${id.replace(/\./g, '\\.')}</title>([\\s\\S]*?)</g>`).exec(svg);
  assert.ok(m, `no SVG node for ${id}`);
  return m[1]!;
}

describe('state diagrams (npm run diagrams)', () => {
  let artifacts: DiagramArtifacts;
  before(async () => {
    artifacts = await buildArtifacts();
  });

  it('the committed files in docs/machines/ are what the machines generate', () => {
    assert.deepEqual([...artifacts.files.keys()].sort(), ['mint', 'redemption'].flatMap((n) => ['dot', 'json', 'mmd', 'svg'].map((e) => `docs/machines/${n}.${e}`)).sort());
    for (const [file, content] of artifacts.files) {
      const committed = path.join(ROOT, file);
      assert.ok(fs.existsSync(committed), `${file} is missing: ${STALE}`);
      assert.ok(fs.readFileSync(committed, 'utf8') === content, `${file} is stale: ${STALE}`);
    }
  });

  it("the README's State machines block is what the machines generate", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const heading = readme.indexOf('\n## State machines\n');
    assert.ok(heading >= 0 && heading < readme.indexOf(README_START), 'the block lives in the "## State machines" section');
    assert.ok(readmeBlock(readme) === artifacts.readmeBlock, `README.md's diagram block is stale: ${STALE}`);
    for (const s of DIAGRAM_SOURCES) assert.ok(artifacts.readmeBlock.includes(`\`\`\`mermaid\n${artifacts.files.get(`docs/machines/${s.name}.mmd`)}\`\`\``), `${s.name} in Mermaid`);
  });

  it('generation is deterministic (same machines, same bytes)', async () => {
    const again = await buildArtifacts();
    assert.deepEqual([...again.files.entries()], [...artifacts.files.entries()]);
    assert.equal(again.readmeBlock, artifacts.readmeBlock);
    for (const content of artifacts.files.values()) assert.doesNotMatch(content, /\b20\d\d-\d\d-\d\d/, 'no dates');
  });

  for (const source of DIAGRAM_SOURCES) {
    describe(source.name, () => {
      const shape = machineShape(source.machine);
      const states = shape.states.slice(1); // below the root
      const file = (ext: string) => artifacts.files.get(`docs/machines/${source.name}.${ext}`)!;

      it('DOT: one edge per transition and target, labelled with its event and guard', () => {
        assert.deepEqual(dotEdges(file('dot')), expectedEdges(shape));
        if (source.name === 'redemption') assert.ok(file('dot').includes('label="always [senderUnknown]"'), 'eventless transitions with their guards');
      });

      it('DOT: compound states are clusters; final and needsOperator states are marked', () => {
        const dot = file('dot');
        for (const s of states) {
          const compound = shape.states.some((c) => c.id.startsWith(`${s.id}.`));
          if (compound) {
            assert.ok(dot.includes(`subgraph "cluster_${s.id}" {`), `${s.id} as a cluster`);
            continue;
          }
          const line = dot.split('\n').find((l) => l.trimStart().startsWith(`"${s.id}" [`));
          assert.ok(line, `node ${s.id}`);
          assert.equal(line.includes('peripheries=2'), s.type === 'final', `${s.id} final marking`);
          assert.equal(line.includes(`fillcolor="${STYLE.operatorFill}"`), s.tags.includes(NEEDS_OPERATOR_TAG), `${s.id} needsOperator marking`);
        }
      });

      it('SVG: names every state and draws the markings', () => {
        const svg = file('svg');
        assert.match(svg, /^<\?xml[\s\S]*<svg /);
        for (const s of states) assert.ok(svg.includes(`>${s.key}</text>`), `${s.key} in the SVG`);
        for (const s of states.filter((x) => !shape.states.some((c) => c.id.startsWith(`${x.id}.`)))) {
          const node = svgNode(svg, s.id);
          assert.equal(node.includes(`fill="${STYLE.operatorFill}"`), s.tags.includes(NEEDS_OPERATOR_TAG), `${s.id} drawn as needsOperator`);
          assert.equal((node.match(/<path|<polygon/g) ?? []).length, s.type === 'final' ? 2 : 1, `${s.id} outlines`);
        }
      });

      it('Mermaid: every state, every transition, final states and needsOperator class', () => {
        const mmd = file('mmd');
        const diagram = machineDiagram(source.machine);
        const byMermaidId = new Map(states.map((s) => [mermaidId(diagram, s.id), s.id]));
        assert.equal(byMermaidId.size, states.length, 'Mermaid ids are unique');
        const edges = [...mmd.matchAll(/^\s*(\w+) --> (\w+) : (.+)$/gm)].map((m) => `${byMermaidId.get(m[1]!)} -> ${byMermaidId.get(m[2]!)} : ${m[3]}`).sort();
        assert.deepEqual(edges, expectedEdges(shape));
        const finals = [...mmd.matchAll(/^\s*(\w+) --> \[\*\]$/gm)].map((m) => byMermaidId.get(m[1]!)).sort();
        assert.deepEqual(finals, states.filter((s) => s.type === 'final').map((s) => s.id).sort());
        const classed = /^\s*class (\S+) needsOperator$/m.exec(mmd)?.[1]?.split(',').map((id) => byMermaidId.get(id)).sort();
        assert.deepEqual(classed, states.filter((s) => s.tags.includes(NEEDS_OPERATOR_TAG)).map((s) => s.id).sort());
        for (const s of states) assert.match(mmd, new RegExp(`(^|\\s|")${s.key}("|\\s|$)`, 'm'), s.key);
      });
    });
  }

  it('nested compound states become nested clusters, and Graphviz renders them without a warning', async () => {
    const machine = setup({ guards: { ready: () => true } }).createMachine({
      id: 'nested',
      initial: 'outer',
      states: {
        outer: {
          initial: 'inner',
          states: { inner: { initial: 'a', states: { a: { on: { GO: { target: 'b', guard: 'ready' } } }, b: { on: { OUT: '#nested.other' } } } } },
        },
        other: { tags: [NEEDS_OPERATOR_TAG], on: { BACK: 'outer.inner' } },
      },
    });
    const diagram = machineDiagram(machine);
    const dot = toDot(diagram);
    assert.match(dot, /subgraph "cluster_nested\.outer" \{\n(.*\n)*\s+subgraph "cluster_nested\.outer\.inner" \{/);
    assert.ok(dot.includes('"nested.outer.inner.a" -> "nested.outer.inner.b" [label="GO [ready]"]'));
    assert.ok(dot.includes('"nested.other" -> "nested.outer.inner.__entry" [label="BACK", lhead="cluster_nested.outer.inner"]'));
    assert.match(await renderSvg(dot), />GO \[ready\]</);
    const mmd = toMermaid(diagram);
    assert.match(mmd, /state outer \{\n\s+\[\*\] --> outer_inner\n\s+state outer_inner \{\n\s+\[\*\] --> outer_inner_a/);
    assert.match(mmd, /^ {6}outer_inner_a --> outer_inner_b : GO \[ready\]$/m, 'an inner transition is written inside its composite');
    assert.match(mmd, /^ {2}outer_inner_b --> other : OUT$/m, 'one leaving composites is written at the top');
    await assert.rejects(renderSvg('digraph { compound=true; a -> b [lhead="cluster_nowhere"] }'), /Graphviz/, 'Graphviz warnings fail the generation');
  });

  it('the README block is replaced between the markers only', () => {
    const readme = `# title\n\nintro\n\n## State machines\n\nprose\n\n${README_START}\nold\n${README_END}\n\n## After\n\ntext\n`;
    const updated = replaceReadmeBlock(readme, 'new block\n');
    assert.equal(updated, readme.replace('old\n', 'new block\n'));
    assert.equal(readmeBlock(updated), 'new block\n');
    assert.throws(() => replaceReadmeBlock('# no markers\n', 'x'), /diagrams:start/);
    assert.throws(() => replaceReadmeBlock(`${README_END}\n${README_START}\n`, 'x'), /exactly one/);
  });
});
