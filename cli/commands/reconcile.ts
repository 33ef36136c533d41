import type { Command } from 'commander';
import type { AssetReading, NetworkReading, ReconciliationReport } from '../../server/reconciliation/report';
import { CliFailure } from '../errors';
import { print, printJson, table } from '../output';
import type { CommandContext } from '../context';

export function reconcileCommand(program: Command, context: CommandContext): void {
  program
    .command('reconcile')
    .description('reconcile reserves now: shares at Alpaca against tokens on chain and the receipt inventory, flows in flight accounted for (exit 1 on a drift)')
    .action(async (_o, cmd: Command) => {
      const report = await context.api(cmd).get<ReconciliationReport>('/operator/reconciliation');
      if (context.json(cmd)) printJson(report);
      else print(renderReport(report));
      if (report.status === 'drift') throw new CliFailure(`reserves drift: ${report.alerts.filter((a) => a.kind !== 'unavailable').map((a) => a.message).join('; ')}`);
      if (report.status === 'unavailable') throw new CliFailure(`reserves could not be reconciled: ${report.alerts.map((a) => a.message).join('; ')}`);
    });
}

const dash = (v: string | null | undefined) => v ?? '-';

function renderReport(r: ReconciliationReport): string {
  const assets = table(
    ['asset', 'status', 'at Alpaca', 'expected', 'drift', 'explained', 'tokens'],
    r.assets.map((a: AssetReading) => [
      a.underlying_symbol,
      a.status,
      dash(a.alpaca_shares),
      dash(a.expected_alpaca_shares),
      dash(a.drift),
      a.explained_drift ? `${a.explained_drift.min} .. ${a.explained_drift.max}` : '-',
      a.token_symbols.join(' '),
    ]),
  );
  const vaults = table(
    ['asset', 'network', 'block', 'supply', 'inventory', 'expected inv.', 'inv. drift', 'in flight'],
    r.assets.flatMap((a) => a.networks.map((n) => [a.underlying_symbol, n.network, n.block_number ?? '-', dash(n.onchain_supply), dash(n.receipt_inventory), dash(n.expected_receipt_inventory), dash(n.inventory_drift), n.error ?? inFlight(n)])),
  );
  const lines = [assets, vaults, `tolerance ${r.tolerance} shares; generated ${r.generated_at}`];
  for (const a of r.alerts) lines.push(`ALERT ${a.kind}: ${a.message}`);
  lines.push(r.status === 'reconciled' ? `reserves reconciled (${r.assets.length} asset${r.assets.length === 1 ? '' : 's'})` : `reserves: ${r.status}`);
  return lines.join('\n');
}

/** Only the kinds of flows in flight there are, e.g. `1 mint awaiting chain (2.5)`. */
function inFlight(n: NetworkReading): string {
  if (!n.in_flight) return '';
  const labels: Record<string, string> = {
    mints_awaiting_chain: 'mint awaiting chain',
    redemptions_awaiting_burn: 'redemption awaiting burn',
    mints_awaiting_journal: 'mint awaiting journal',
    redemptions_awaiting_alpaca: 'redemption awaiting Alpaca',
    mints_mined_unrecorded: 'mint mined, unrecorded',
    burns_mined_unrecorded: 'burn mined, unrecorded',
  };
  return Object.entries(n.in_flight)
    .filter(([, v]) => v.flows > 0)
    .map(([k, v]) => `${v.flows} ${labels[k]} (${v.shares})`)
    .join(', ');
}
