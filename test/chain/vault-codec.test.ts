// The adapter's pure parts: calldata, receipt information, error decoding. No node needed.
import assert from 'node:assert/strict';
import { AbiCoder, Interface, Wallet, id, toUtf8String } from 'ethers';
import {
  SHARE_RATIO,
  VAULT_ABI,
  decodeReceiptInformation,
  decodeVaultError,
  encodeBurn,
  encodeMint,
  encodeReceiptInformation,
} from '../../chain/vault';

const iface = new Interface(VAULT_ABI);
const vault = Wallet.createRandom().address;
const issuer = Wallet.createRandom().address;
const ap = Wallet.createRandom().address;

function innerCalls(calldata: string) {
  const [calls] = iface.decodeFunctionData('multicall', calldata) as unknown as [string[]];
  return calls.map((c) => iface.parseTransaction({ data: c })!);
}

function customError(signature: string, types: string[], values: unknown[]): string {
  return id(signature).slice(0, 10) + AbiCoder.defaultAbiCoder().encode(types, values).slice(2);
}

describe('chain/vault codec', () => {
  it('encodeMint: deposit to the issuer at ratio 1e18, then transfer the same amount to the AP', () => {
    const info = encodeReceiptInformation('req-9');
    const calls = innerCalls(encodeMint({ vault, issuer, recipient: ap, amount: 7n, receiptInformation: info }));
    assert.deepEqual(calls.map((c) => c.name), ['deposit', 'transfer']);
    assert.deepEqual([...calls[0]!.args], [7n, issuer, SHARE_RATIO, info]);
    assert.deepEqual([...calls[1]!.args], [ap, 7n]);
  });

  it('encodeMint refuses zero amounts, the vault as recipient and bad addresses', () => {
    const base = { vault, issuer, recipient: ap, amount: 1n, receiptInformation: '0x' };
    assert.throws(() => encodeMint({ ...base, amount: 0n }), /positive/);
    assert.throws(() => encodeMint({ ...base, recipient: vault.toLowerCase() }), /vault itself/);
    assert.throws(() => encodeMint({ ...base, recipient: '0x0000000000000000000000000000000000000000' }), /zero address/);
    assert.throws(() => encodeMint({ ...base, issuer: '0x1234' }));
  });

  it('encodeBurn: one redeem(n, issuer, issuer, id, info) per part, in order', () => {
    const calls = innerCalls(
      encodeBurn({ issuer, parts: [{ receiptId: 3n, amount: 10n }, { receiptId: 1n, amount: 4n }], info: '0xabcd' }),
    );
    assert.deepEqual(
      calls.map((c) => [c.name, ...c.args]),
      [
        ['redeem', 10n, issuer, issuer, 3n, '0xabcd'],
        ['redeem', 4n, issuer, issuer, 1n, '0xabcd'],
      ],
    );
  });

  it('encodeBurn refuses empty burns, zero ids or amounts and a receipt id listed twice', () => {
    assert.throws(() => encodeBurn({ issuer, parts: [], info: '0x' }), /no parts/);
    assert.throws(() => encodeBurn({ issuer, parts: [{ receiptId: 0n, amount: 1n }], info: '0x' }), /receipt id/);
    assert.throws(() => encodeBurn({ issuer, parts: [{ receiptId: 1n, amount: 0n }], info: '0x' }), /positive/);
    const twice = [{ receiptId: 2n, amount: 1n }, { receiptId: 2n, amount: 1n }];
    assert.throws(() => encodeBurn({ issuer, parts: twice, info: '0x' }), /twice/);
  });

  it('receipt information is JSON carrying the tokenization request id, and foreign bytes decode to null', () => {
    const bytes = encodeReceiptInformation('0f2a-"quoted"');
    assert.deepEqual(JSON.parse(toUtf8String(bytes)), { tokenization_request_id: '0f2a-"quoted"' });
    assert.deepEqual(decodeReceiptInformation(bytes), { tokenization_request_id: '0f2a-"quoted"' });
    assert.equal(decodeReceiptInformation('0x'), null);
    assert.equal(decodeReceiptInformation('0xff00'), null);
    assert.equal(decodeReceiptInformation(encodeReceiptInformation('x').replace(/^0x7b/, '0x5b')), null);
    assert.throws(() => encodeReceiptInformation(''));
  });

  it('decodeVaultError finds revert data nested in JSON-RPC errors and knows both Rain error shapes', () => {
    const user = Wallet.createRandom().address;
    const legacy = customError('Unauthorized(address,bytes32)', ['address', 'bytes32'], [user, id('WITHDRAW')]);
    const nested = { message: 'execution reverted', info: { error: { code: 3, message: 'reverted', data: legacy } } };
    assert.deepEqual(decodeVaultError(nested), { code: 'unauthorized', message: `${user} lacks the WITHDRAW permission` });

    const oldExpired = customError('CertificationExpired(address,address)', ['address', 'address'], [user, ap]);
    assert.equal(decodeVaultError(oldExpired).code, 'certification_expired');
  });

  it('decodeVaultError never mistakes our own calldata for revert data, and reports unknown failures', () => {
    const calldata = encodeMint({ vault, issuer, recipient: ap, amount: 1n, receiptInformation: '0x' });
    const err = { shortMessage: 'could not coalesce error', message: 'long dump with https://rpc.example/KEY', transaction: { data: calldata } };
    assert.deepEqual(decodeVaultError(err), { code: 'unknown', message: 'could not coalesce error' });
    assert.equal(decodeVaultError(customError('Nope()', [], [])).code, 'unknown');
    assert.equal(decodeVaultError(undefined).code, 'unknown');
  });
});
