import assert from 'node:assert/strict';
import { Interface } from 'ethers';
import { loadArtifact } from '../../chain/contracts/artifacts';
import { CONTRACT_NAMES, computeSourceHash } from '../../chain/contracts/sources';
import { RECEIPT_ABI, VAULT_ABI } from '../../chain/vault';

describe('chain/contracts artifacts', () => {
  it('are fresh: build/ was compiled from the current sources, compiler and settings', () => {
    const expected = computeSourceHash();
    for (const name of CONTRACT_NAMES) {
      assert.equal(loadArtifact(name).sourceHash, expected, `${name}.json is stale: run npm run compile:contracts`);
    }
  });

  it('the compiled vault and receipt expose every function and event the adapter relies on', () => {
    const pairs = [
      [VAULT_ABI, loadArtifact('ReceiptVault').abi],
      [RECEIPT_ABI, loadArtifact('Receipt').abi],
    ] as const;
    for (const [adapterAbi, compiledAbi] of pairs) {
      const compiled = new Interface(compiledAbi);
      new Interface(adapterAbi).forEachFunction((f) =>
        assert.ok(compiled.getFunction(f.selector), `compiled ABI lacks ${f.format()}`),
      );
      new Interface(adapterAbi).forEachEvent((e) =>
        assert.ok(compiled.getEvent(e.topicHash), `compiled ABI lacks event ${e.format()}`),
      );
    }
  });
});
