import { redemptionFlowId } from '../../core/flow-ids';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Contract, Wallet } from 'ethers';
import { readTotalSupply } from '../../chain/vault';
import { decodeWithdrawLog } from '../../chain/vault';
import { type CrashHarness, startCrashHarness } from '../support/crash-harness';
import { tempDir } from '../support/service';

describe('redemption survives SIGKILL between the stored burn transaction and its broadcast', function () {
  this.timeout(120_000);
  let h: CrashHarness;
  before(async () => {
    h = await startCrashHarness();
  });
  after(() => h?.close());

  for (const crashAt of ['txmanager.afterPersist.burn', 'txmanager.afterBroadcast.burn']) {
    it(`killed at ${crashAt}: exactly one burn after restart`, async () => {
      const dataDir = tempDir('issuance-crash-');
      let svc = await h.spawn(dataDir, crashAt);
      const clientId = await h.seed(svc, `${crashAt}@ap.example`);
      const trid = crypto.randomUUID();
      const created = await h.alpaca.requestMint({ tokenization_request_id: trid, qty: '3', underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: h.chain.apAccount.address, client_external_account_id: clientId });
      await h.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
      await h.waitForFlow(svc, `mint:${trid}`, 'completed');

      const supplyBefore = await readTotalSupply(h.provider, h.chain.vault.vault);
      const ap = new Wallet(h.chain.apAccount.privateKey, h.provider);
      const issuer = (await h.operator(svc, 'GET', '/operator/assets')).body.assets[0];
      const token = new Contract(issuer.vault_address, ['function transfer(address,uint256) returns (bool)'], ap);
      const tx = await (await token.getFunction('transfer')(h.chain.issuerAddress, 2n * 10n ** 18n)).wait();
      const logIndex = tx!.logs[0]!.index;
      // Bury it under the confirmation depth; the service's poller does the rest and then dies.
      await h.provider.send('anvil_mine', ['0x2']);
      const exit = await svc.exited;
      assert.equal(exit.signal, 'SIGKILL', svc.stderr());

      svc = await h.spawn(dataDir);
      try {
        const flowId = redemptionFlowId('base', tx!.hash, logIndex);
        await h.waitForFlow(svc, flowId, 'completed');
        const logs = await h.provider.getLogs({ address: h.chain.vault.vault, fromBlock: 0, toBlock: 'latest' });
        const burns = new Set(logs.map((l) => decodeWithdrawLog(l, h.chain.vault.vault)).filter((w) => w && Buffer.from(w.receiptInformation.slice(2), 'hex').toString().includes(tx!.hash)).map((w) => w!.txHash));
        assert.equal(burns.size, 1, 'exactly one burn transaction');
        assert.equal(supplyBefore - (await readTotalSupply(h.provider, h.chain.vault.vault)), 2n * 10n ** 18n);
      } finally {
        await svc.kill('SIGTERM');
      }
    });
  }
});
