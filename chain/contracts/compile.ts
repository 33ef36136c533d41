// Build step (`npm run compile:contracts`): compiles our test contracts with the
// bundled solc-js and writes build/<Name>.json. Runtime code only reads those
// files, so nothing at run time needs the compiler or the network.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import solc from 'solc';
import type { Artifact } from './artifacts';
import { BUILD_DIR, COMPILER_SETTINGS, CONTRACT_NAMES, computeSourceHash, readSources } from './sources';

interface SolcError {
  severity: 'error' | 'warning' | 'info';
  formattedMessage: string;
}
interface SolcOutput {
  errors?: SolcError[];
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

/** Resolves imports from node_modules; only OpenZeppelin is allowed in. */
function findImport(importPath: string): { contents: string } | { error: string } {
  if (!importPath.startsWith('@openzeppelin/contracts/')) return { error: `import not allowed: ${importPath}` };
  try {
    return { contents: readFileSync(require.resolve(importPath), 'utf8') };
  } catch (err) {
    return { error: `cannot read ${importPath}: ${(err as Error).message}` };
  }
}

export function compileContracts(): { artifacts: Record<string, Artifact>; warnings: string[] } {
  const sources = readSources();
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: COMPILER_SETTINGS,
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput;
  const problems = output.errors ?? [];
  const errors = problems.filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error('solc failed:\n' + errors.map((e) => e.formattedMessage).join('\n'));

  const sourceHash = computeSourceHash(sources);
  const artifacts: Record<string, Artifact> = {};
  for (const name of CONTRACT_NAMES) {
    const compiled = output.contracts?.[`${name}.sol`]?.[name];
    if (!compiled) throw new Error(`solc produced no ${name} (expected in ${name}.sol)`);
    artifacts[name] = {
      contractName: name,
      abi: compiled.abi as Artifact['abi'],
      bytecode: '0x' + compiled.evm.bytecode.object,
      sourceHash,
    };
  }
  const warnings = problems.filter((e) => e.severity !== 'error').map((e) => e.formattedMessage);
  return { artifacts, warnings };
}

export function writeArtifacts(): string[] {
  const { artifacts, warnings } = compileContracts();
  mkdirSync(BUILD_DIR, { recursive: true });
  for (const [name, artifact] of Object.entries(artifacts)) {
    writeFileSync(path.join(BUILD_DIR, `${name}.json`), JSON.stringify(artifact, null, 2) + '\n');
  }
  return warnings;
}

if (require.main === module) {
  const warnings = writeArtifacts();
  for (const w of warnings) console.warn(w);
  console.log(`wrote ${CONTRACT_NAMES.length} artifacts to ${path.relative(process.cwd(), BUILD_DIR)}`);
}
