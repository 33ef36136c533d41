// What we compile and how, in one place: compile.ts uses it to build, and the
// artifact freshness test uses it to prove build/ matches the current sources.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const CONTRACTS_DIR = __dirname;
export const BUILD_DIR = path.join(__dirname, 'build');

/** Contracts that get a build/<Name>.json artifact (deployable ones only). */
export const CONTRACT_NAMES = ['ReceiptVault', 'Receipt', 'Authorizer'] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export const COMPILER_SETTINGS = {
  evmVersion: 'cancun', // OpenZeppelin 5 uses mcopy
  optimizer: { enabled: true, runs: 200 },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
} as const;

/** Our .sol files keyed by bare file name, as solc sees them. */
export function readSources(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of readdirSync(CONTRACTS_DIR).filter((f) => f.endsWith('.sol')).sort()) {
    out[file] = readFileSync(path.join(CONTRACTS_DIR, file), 'utf8');
  }
  return out;
}

function packageVersion(pkg: string): string {
  // Read package.json instead of loading solc: loading the compiler takes seconds.
  const json = JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string };
  return json.version;
}

/**
 * Hash of everything that determines the bytecode: our sources, the compiler and
 * OpenZeppelin versions (which pin the imported files), and the settings.
 */
export function computeSourceHash(sources: Record<string, string> = readSources()): string {
  const material = JSON.stringify({
    solc: packageVersion('solc'),
    openzeppelin: packageVersion('@openzeppelin/contracts'),
    settings: COMPILER_SETTINGS,
    sources: Object.keys(sources)
      .sort()
      .map((name) => [name, sources[name]]),
  });
  return 'sha256:' + createHash('sha256').update(material).digest('hex');
}
