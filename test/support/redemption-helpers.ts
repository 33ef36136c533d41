import crypto from 'node:crypto';
import { Contract, Wallet } from 'ethers';
import { decodeWithdrawLog } from '../../chain/vault';
import { type MintEnv, waitForState } from './mint-env';

const ERC20 = ['function transfer(address to, uint256 amount) returns (bool)', 'function balanceOf(address) view returns (uint256)', 'function totalSupply() view returns (uint256)'];

export const units = (qty: string) => {
  const [w, f = ''] = qty.split('.');
  return BigInt(w!) * 10n ** 18n + BigInt((f + '0'.repeat(18)).slice(0, 18));
};

/** Mints through the real mint flow (so the issuer holds the receipt) and returns the receipt id. */
export async function mintThroughFlow(env: MintEnv, qty: string): Promise<string> {
  const trid = crypto.randomUUID();
  const created = await env.alpaca.requestMint({ tokenization_request_id: trid, qty, underlying_symbol: 'AAPL', token_symbol: 'tAAPL', network: 'base', wallet_address: env.apWallet, client_external_account_id: env.apId });
  if (created.status !== 200) throw new Error(`mint request failed ${JSON.stringify(created.body)}`);
  await env.alpaca.confirmMint(trid, created.body.issuer_request_id, 'completed');
  await waitForState(env.svc, `mint:${trid}`, ['completed']);
  return (await env.svc.host.require(`mint:${trid}`)).snapshot.context.receiptId;
}

export function shareToken(env: MintEnv, signer?: Wallet): Contract {
  return new Contract(env.chain.vault.vault, ERC20, signer ?? env.provider);
}

/** The AP sends shares to the redemption wallet (the issuer's address); returns the transfer's tx hash. */
export async function sendToRedemptionWallet(env: MintEnv, amount: bigint, from = new Wallet(env.chain.apAccount.privateKey, env.provider)): Promise<{ txHash: string; blockNumber: number }> {
  const tx = await (shareToken(env, from).getFunction('transfer'))(env.chain.issuerAddress, amount);
  const receipt = await tx.wait();
  return { txHash: receipt!.hash, blockNumber: receipt!.blockNumber };
}

export async function mineBlocks(env: MintEnv, n: number): Promise<void> {
  await env.provider.send('anvil_mine', [`0x${n.toString(16)}`]);
}

/** Withdraw events (burns) on chain whose receipt information names this redemption transfer. */
export async function burnsFor(env: MintEnv, transferTx: string): Promise<number> {
  const logs = await env.provider.getLogs({ address: env.chain.vault.vault, fromBlock: 0, toBlock: 'latest' });
  const ids = new Set<string>();
  for (const log of logs) {
    const w = decodeWithdrawLog(log, env.chain.vault.vault);
    if (w && Buffer.from(w.receiptInformation.slice(2), 'hex').toString('utf8').includes(transferTx)) ids.add(w.txHash);
  }
  return ids.size;
}

/** Ticks the poller (mining a block each time so the transfer gets buried) until the flow exists. */
export async function detect(env: MintEnv & { svc: any }, flowId: string, tries = 20): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await env.svc.host.get(flowId)) return;
    await mineBlocks(env, 1);
    await env.svc.poller.tick();
  }
  throw new Error(`transfer for ${flowId} not detected`);
}
