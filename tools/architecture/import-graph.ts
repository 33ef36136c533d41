import fs from 'node:fs';
import path from 'node:path';
import madge from 'madge';
import { LAYERS } from './layers';

const root = path.resolve(__dirname, '..', '..');

export interface ImportGraph {
  /** Source files (relative to the root) and the project files each imports. */
  files: Record<string, string[]>;
  /** Import counts between top-level folders: `from -> to`. */
  folders: Map<string, number>;
  /** File-level import cycles (madge). */
  cycles: string[][];
  /** Imports that point sideways or up the layers: `file -> imported file`. */
  violations: string[];
}

const rankOf = new Map(LAYERS.map((l) => [l.folder, l.rank]));
const top = (file: string) => file.split('/')[0]!;

/** The import graph of the layered source (tests and benches aside), read with madge. */
export async function readImportGraph(): Promise<ImportGraph> {
  const dirs = LAYERS.map((l) => l.folder).filter((f) => fs.existsSync(path.join(root, f)));
  const result = await madge(dirs.map((d) => path.join(root, d)), {
    baseDir: root,
    fileExtensions: ['ts'],
    tsConfig: path.join(root, 'tsconfig.json'),
    // Type-only imports count: a layer must not even name a higher layer's types.
    detectiveOptions: { ts: { skipTypeImports: false }, es6: { skipTypeImports: false } },
  });
  const files: Record<string, string[]> = {};
  // Project sources only (package.json and other data files are not layers).
  for (const [file, deps] of Object.entries(result.obj())) if (file.endsWith('.ts')) files[file] = deps.filter((d) => d.endsWith('.ts'));
  const folders = new Map<string, number>();
  const violations: string[] = [];
  for (const [file, deps] of Object.entries(files)) {
    for (const dep of deps) {
      const from = top(file);
      const to = top(dep);
      if (from === to) continue;
      const key = `${from} -> ${to}`;
      folders.set(key, (folders.get(key) ?? 0) + 1);
      const a = rankOf.get(from);
      const b = rankOf.get(to);
      if (a === undefined || b === undefined || b >= a) violations.push(`${file} -> ${dep}`);
    }
  }
  return { files, folders, cycles: result.circular(), violations };
}

/** The folder graph as a Mermaid chart, layers bottom up, with import counts on the edges. */
export function folderChart(graph: ImportGraph): string {
  const lines = ['```mermaid', 'flowchart BT'];
  for (const l of LAYERS) lines.push(`  ${l.folder}["${l.folder}/"]`);
  for (const [edge, n] of [...graph.folders].sort(([a], [b]) => a.localeCompare(b))) {
    const [from, to] = edge.split(' -> ');
    lines.push(`  ${from} -->|${n}| ${to}`);
  }
  lines.push('```');
  return lines.join('\n');
}

const BEGIN = '<!-- import-graph:begin (npm run architecture) -->';
const END = '<!-- import-graph:end -->';
export const ARCHITECTURE_NOTE = path.join(root, 'docs', 'architecture.md');

/** The architecture note with its generated block replaced by `chart`. */
export function withChart(note: string, chart: string): string {
  const start = note.indexOf(BEGIN);
  const end = note.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${ARCHITECTURE_NOTE} lacks the ${BEGIN} … ${END} block`);
  return `${note.slice(0, start + BEGIN.length)}\n${chart}\n${note.slice(end)}`;
}

async function main(): Promise<void> {
  const graph = await readImportGraph();
  const chart = folderChart(graph);
  if (process.argv.includes('--write')) {
    fs.writeFileSync(ARCHITECTURE_NOTE, withChart(fs.readFileSync(ARCHITECTURE_NOTE, 'utf8'), chart));
  } else {
    process.stdout.write(`${chart}\n`);
  }
  process.stdout.write(`${Object.keys(graph.files).length} files, ${graph.cycles.length} cycles, ${graph.violations.length} imports against the layers\n`);
  for (const v of graph.violations) process.stdout.write(`  ${v}\n`);
  for (const c of graph.cycles) process.stdout.write(`  cycle: ${c.join(' -> ')}\n`);
  if (graph.violations.length || graph.cycles.length) process.exitCode = 1;
}

if (require.main === module) void main();
