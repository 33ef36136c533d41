// Typed access to the committed build/ artifacts; the only way runtime code and
// tests get bytecode, so they never need solc.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { JsonFragment } from 'ethers';
import { BUILD_DIR, type ContractName } from './sources';

export type { ContractName } from './sources';

export interface Artifact {
  contractName: string;
  abi: JsonFragment[];
  bytecode: string;
  /** computeSourceHash() at build time; a mismatch means build/ is stale. */
  sourceHash: string;
}

const cache = new Map<ContractName, Artifact>();

export function loadArtifact(name: ContractName): Artifact {
  let artifact = cache.get(name);
  if (!artifact) {
    const file = path.join(BUILD_DIR, `${name}.json`);
    let parsed: Artifact;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as Artifact;
    } catch (err) {
      throw new Error(`missing or unreadable artifact ${file}; run npm run compile:contracts (${(err as Error).message})`);
    }
    if (!Array.isArray(parsed.abi) || !/^0x[0-9a-f]+$/i.test(parsed.bytecode)) {
      throw new Error(`malformed artifact ${file}`);
    }
    artifact = parsed;
    cache.set(name, artifact);
  }
  return artifact;
}
