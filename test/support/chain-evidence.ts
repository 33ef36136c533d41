import type { JsonRpcProvider } from 'ethers';
import { decodeDepositLog, decodeReceiptInformation } from '../../chain/vault';

/** Deposits per tokenization request, read from the chain's own events (not from our database). */
export async function depositsByRequest(provider: JsonRpcProvider, vault: string): Promise<Map<string, number>> {
  const logs = await provider.getLogs({ address: vault, fromBlock: 0, toBlock: 'latest' });
  const counts = new Map<string, number>();
  for (const log of logs) {
    const deposit = decodeDepositLog(log, vault);
    if (!deposit) continue;
    const info = decodeReceiptInformation(deposit.receiptInformation);
    const key = info?.tokenization_request_id ?? '(none)';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
