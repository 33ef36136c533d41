// The vault adapter against our compiled test vault on a real anvil node.
import assert from 'node:assert/strict';
import { Contract, parseEther, type JsonRpcProvider, type TransactionReceipt, type Wallet } from 'ethers';
import { loadArtifact } from '../../chain/contracts/artifacts';
import { deployVault, ROLES, type DeployedVault } from '../../chain/deploy';
import { startDevnet, type Devnet } from '../../chain/devnet';
import {
  decodeReceiptInformation,
  decodeVaultError,
  encodeBurn,
  encodeMint,
  encodeReceiptInformation,
  parseDeposits,
  parseWithdrawals,
  readHighwaterId,
  readReceiptAddress,
  readReceiptBalance,
  readShareBalance,
  readTotalSupply,
  readVaultStatus,
} from '../../chain/vault';
import { devnetProvider, devnetWallet, rejection } from './helpers';

describe('chain/vault on anvil', function () {
  let devnet: Devnet;
  let provider: JsonRpcProvider;
  let admin: Wallet; // deployer and vault owner, holds no issuer role
  let issuer: Wallet;
  let ap: Wallet;
  let other: Wallet;
  let d: DeployedVault;

  async function send(from: Wallet, data: string, to = d.vault): Promise<TransactionReceipt> {
    const receipt = await (await from.sendTransaction({ to, data })).wait();
    assert.ok(receipt && receipt.status === 1);
    return receipt;
  }
  const vaultAs = (w: Wallet) => new Contract(d.vault, loadArtifact('ReceiptVault').abi, w);
  const shares = (who: Wallet) => readShareBalance(provider, d.vault, who.address);
  const receiptBal = (who: Wallet, id: bigint) => readReceiptBalance(provider, d.receipt, who.address, id);

  before(async () => {
    devnet = await startDevnet();
    provider = devnetProvider(devnet);
    [admin, issuer, ap, other] = [0, 1, 2, 3].map((i) => devnetWallet(devnet, i, provider)) as [Wallet, Wallet, Wallet, Wallet];
    d = await deployVault(admin, { name: 'Tokenized AAPL', symbol: 'tAAPL', issuer: issuer.address });
  });

  after(async () => {
    provider?.destroy();
    await devnet?.stop();
  });

  it('deploys vault, receipt and authorizer with the issuer holding every role', async () => {
    assert.equal(await readReceiptAddress(provider, d.vault), d.receipt);
    const vaultAtDeploy = await provider.getCode(d.vault, d.deployBlock);
    assert.notEqual(vaultAtDeploy, '0x');
    assert.equal(await provider.getCode(d.vault, d.deployBlock - 1), '0x', 'deployBlock is later than the deployment');
    const authorizer = new Contract(d.authorizer, loadArtifact('Authorizer').abi, provider);
    for (const role of Object.values(ROLES)) assert.equal(await authorizer.getFunction('hasRole')(role, issuer.address), true);
    // The deployer borrowed CERTIFY only to certify and gave it back.
    assert.equal(await authorizer.getFunction('hasRole')(ROLES.CERTIFY, admin.address), false);
    assert.deepEqual(await readVaultStatus(provider, d.vault), { certificationExpired: false, ownerFrozenUntil: 0n });
    assert.equal(await vaultAs(admin).getFunction('decimals')(), 18n);
  });

  it('mints: issuer keeps the new receipt, the AP gets the shares, ids count up from 1', async () => {
    const amount = parseEther('5');
    const info = encodeReceiptInformation('tok-req-1');
    const tx = await send(issuer, encodeMint({ vault: d.vault, issuer: issuer.address, recipient: ap.address, amount, receiptInformation: info }));
    const deposits = parseDeposits(tx, d.vault);
    assert.equal(deposits.length, 1);
    const dep = deposits[0]!;
    assert.equal(dep.id, 1n);
    assert.equal(dep.sender, issuer.address);
    assert.equal(dep.owner, issuer.address);
    assert.equal(dep.assets, amount);
    assert.equal(dep.shares, amount);
    assert.equal(dep.txHash, tx.hash);
    assert.deepEqual(decodeReceiptInformation(dep.receiptInformation), { tokenization_request_id: 'tok-req-1' });

    assert.equal(await shares(ap), amount);
    assert.equal(await shares(issuer), 0n);
    assert.equal(await receiptBal(issuer, dep.id), amount);
    assert.equal(await receiptBal(ap, dep.id), 0n);
    assert.equal(await readTotalSupply(provider, d.vault), amount);

    const tx2 = await send(issuer, encodeMint({ vault: d.vault, issuer: issuer.address, recipient: ap.address, amount: parseEther('3'), receiptInformation: '0x' }));
    assert.deepEqual(parseDeposits(tx2, d.vault).map((e) => e.id), [2n]);
    assert.equal(await readHighwaterId(provider, d.vault), 2n);
    assert.equal(await readTotalSupply(provider, d.vault), parseEther('8'));
    // parseDeposits ignores the same event from any other address.
    assert.deepEqual(parseDeposits(tx2, d.receipt), []);
  });

  it('burns across two receipt ids in one multicall', async () => {
    // Redemption: the AP sends shares back to the issuer's wallet.
    await (await vaultAs(ap).getFunction('transfer')(issuer.address, parseEther('4'))).wait();
    const info = encodeReceiptInformation('tok-redeem-1');
    const tx = await send(issuer, encodeBurn({
      issuer: issuer.address,
      parts: [{ receiptId: 1n, amount: parseEther('2.5') }, { receiptId: 2n, amount: parseEther('1.5') }],
      info,
    }));
    const withdrawals = parseWithdrawals(tx, d.vault);
    assert.deepEqual(withdrawals.map((w) => [w.id, w.shares, w.assets, w.owner, w.receiver]), [
      [1n, parseEther('2.5'), parseEther('2.5'), issuer.address, issuer.address],
      [2n, parseEther('1.5'), parseEther('1.5'), issuer.address, issuer.address],
    ]);
    assert.equal(withdrawals[0]!.logIndex < withdrawals[1]!.logIndex, true);
    assert.deepEqual(decodeReceiptInformation(withdrawals[1]!.receiptInformation), { tokenization_request_id: 'tok-redeem-1' });
    assert.deepEqual(parseDeposits(tx, d.vault), []);

    assert.equal(await receiptBal(issuer, 1n), parseEther('2.5'));
    assert.equal(await receiptBal(issuer, 2n), parseEther('1.5'));
    assert.equal(await shares(issuer), 0n);
    assert.equal(await shares(ap), parseEther('4'));
    assert.equal(await readTotalSupply(provider, d.vault), parseEther('4'));
  });

  it('decodes Unauthorized: an address without DEPOSIT cannot mint', async () => {
    const err = await rejection(() =>
      send(ap, encodeMint({ vault: d.vault, issuer: ap.address, recipient: ap.address, amount: 1n, receiptInformation: '0x' })),
    );
    const decoded = decodeVaultError(err);
    assert.equal(decoded.code, 'unauthorized', decoded.message);
    assert.match(decoded.message, /DEPOSIT/);
    assert.ok(decoded.message.includes(ap.address));
  });

  it('decodes insufficient receipt and insufficient shares, and a failed burn changes nothing', async () => {
    await (await vaultAs(ap).getFunction('transfer')(issuer.address, parseEther('3'))).wait();
    // Shares suffice (3) but receipt 2 backs only 1.5.
    const receiptErr = await rejection(() =>
      send(issuer, encodeBurn({ issuer: issuer.address, parts: [{ receiptId: 2n, amount: parseEther('2') }], info: '0x' })),
    );
    const r = decodeVaultError(receiptErr);
    assert.equal(r.code, 'insufficient_receipt', r.message);
    assert.match(r.message, /receipt 2\b/);

    // Each part has its receipt (1 of 1.5 on id 2, 2.5 of 2.5 on id 1) but together they need 3.5 > 3 shares.
    const shareErr = await rejection(() =>
      send(issuer, encodeBurn({
        issuer: issuer.address,
        parts: [{ receiptId: 2n, amount: parseEther('1') }, { receiptId: 1n, amount: parseEther('2.5') }],
        info: '0x',
      })),
    );
    const s = decodeVaultError(shareErr);
    assert.equal(s.code, 'insufficient_shares', s.message);

    // The whole multicall reverted: the first part's burn did not stick.
    assert.equal(await receiptBal(issuer, 2n), parseEther('1.5'));
    assert.equal(await shares(issuer), parseEther('3'));
  });

  it('decodes CertificationExpired for mints to and transfers between non-role holders', async () => {
    const issuerVault = vaultAs(issuer);
    await (await issuerVault.getFunction('certify')(1n, true, '0x')).wait(); // force a lapse
    assert.equal((await readVaultStatus(provider, d.vault)).certificationExpired, true);

    const mintErr = await rejection(async () =>
      (await issuerVault.getFunction('deposit')(parseEther('1'), ap.address, 10n ** 18n, '0x')).wait(),
    );
    const m = decodeVaultError(mintErr);
    assert.equal(m.code, 'certification_expired', m.message);

    const transferErr = await rejection(async () =>
      (await vaultAs(ap).getFunction('transfer')(other.address, 1n)).wait(),
    );
    assert.equal(decodeVaultError(transferErr).code, 'certification_expired');

    // Re-certifying lifts it.
    const until = BigInt((await provider.getBlock('latest'))!.timestamp) + 3600n;
    await (await issuerVault.getFunction('certify')(until, true, '0x')).wait();
    await (await vaultAs(ap).getFunction('transfer')(other.address, 1n)).wait();
    assert.equal(await shares(other), 1n);
  });

  it('decodes OwnerFrozen: a frozen vault refuses even the issuer', async () => {
    // A fresh vault: a freeze only extends, so it would end this suite's vault.
    const frozen = await deployVault(admin, { name: 'Frozen', symbol: 'FRZ', issuer: issuer.address });
    const until = BigInt((await provider.getBlock('latest'))!.timestamp) + 3600n;
    const owned = new Contract(frozen.vault, loadArtifact('ReceiptVault').abi, admin);
    await (await owned.getFunction('ownerFreezeUntil')(until)).wait();
    assert.equal((await readVaultStatus(provider, frozen.vault)).ownerFrozenUntil, until);

    const err = await rejection(() =>
      send(issuer, encodeMint({ vault: frozen.vault, issuer: issuer.address, recipient: ap.address, amount: 1n, receiptInformation: '0x' }), frozen.vault),
    );
    const decoded = decodeVaultError(err);
    assert.equal(decoded.code, 'owner_frozen', decoded.message);
    assert.match(decoded.message, new RegExp(new Date(Number(until) * 1000).toISOString()));
    assert.equal(await readTotalSupply(provider, frozen.vault), 0n);
  });

  it('decodes a reverted eth_call the same way as a failed send', async () => {
    const data = encodeBurn({ issuer: issuer.address, parts: [{ receiptId: 1n, amount: parseEther('100') }], info: '0x' });
    const err = await rejection(() => provider.call({ from: issuer.address, to: d.vault, data }));
    assert.equal(decodeVaultError(err).code, 'insufficient_shares');
  });
});
