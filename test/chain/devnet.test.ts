import assert from 'node:assert/strict';
import { startDevnet, type Devnet } from '../../chain/devnet';

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: unknown };
  if (body.error) throw new Error(JSON.stringify(body.error));
  return body.result;
}

describe('chain/devnet', () => {
  let devnet: Devnet | undefined;
  after(async () => {
    await devnet?.stop();
  });

  it('starts anvil on a free port with the requested chain id and the funded devnet accounts', async () => {
    devnet = await startDevnet({ chainId: 4242, blockTime: 0.2 });
    assert.match(devnet.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await rpc(devnet.rpcUrl, 'eth_chainId'), '0x' + (4242).toString(16));
    const nodeAccounts = (await rpc(devnet.rpcUrl, 'eth_accounts')) as string[];
    assert.deepEqual(
      devnet.accounts.map((a) => a.address.toLowerCase()),
      nodeAccounts.map((a) => a.toLowerCase()),
    );
    assert.equal(devnet.accounts.length, 10);
  });

  it('mines on its own with blockTime set', async () => {
    assert.ok(devnet);
    const first = BigInt((await rpc(devnet.rpcUrl, 'eth_blockNumber')) as string);
    await new Promise((r) => setTimeout(r, 500));
    const later = BigInt((await rpc(devnet.rpcUrl, 'eth_blockNumber')) as string);
    assert.ok(later > first, `no blocks mined in 500 ms (${first} -> ${later})`);
  });

  it('stop() kills the node, and a second stop() is harmless', async () => {
    assert.ok(devnet);
    await devnet.stop();
    await assert.rejects(rpc(devnet.rpcUrl, 'eth_blockNumber'));
    await devnet.stop();
  });
});
