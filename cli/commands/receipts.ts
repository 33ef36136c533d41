import type { Command } from 'commander';
import { CliFailure } from '../errors';
import { print, printJson, table } from '../output';
import type { CommandContext } from '../context';

export function receiptCommands(program: Command, context: CommandContext): void {
  program
    .command('receipts')
    .description('the vault receipts the issuer holds, and the shares each still backs')
    .option('--verify-chain', "compare each receipt with the receipt contract's balance on chain")
    .action(async (o, cmd: Command) => {
      const res = await context.api(cmd).get<{ receipts: any[]; mismatches?: number }>('/operator/receipts', { verify: o.verifyChain ? 'chain' : undefined });
      const verified = res.mismatches !== undefined;
      if (context.json(cmd)) printJson(res);
      else {
        const head = ['vault', 'receipt', 'network', 'token', 'minted', 'remaining', 'minted by'];
        print(table(verified ? [...head, 'on chain', 'ok'] : head, res.receipts.map((r) => [r.vault_address, r.receipt_id, r.network, r.token_symbol, r.shares_minted, r.shares_remaining, r.minted_by, ...(verified ? [r.on_chain ?? '?', r.matches ? 'yes' : 'NO'] : [])])));
        print(`${res.receipts.length} receipt${res.receipts.length === 1 ? '' : 's'}${verified ? `, ${res.mismatches} not matching the chain` : ''}`);
      }
      if (o.verifyChain && !verified) throw new CliFailure('the service has no chain connection to verify receipts with');
      if (verified && res.mismatches! > 0) throw new CliFailure(`${res.mismatches} receipt${res.mismatches === 1 ? '' : 's'} do not match the chain`);
    });
}
