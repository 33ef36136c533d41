import { type Command, InvalidArgumentError } from 'commander';
import { CliFailure, UsageError } from '../errors';
import { print, printJson, record, table, when } from '../output';
import { type OperatorApi, flowPath } from '../remote';
import type { CommandContext } from '../context';
import { TAGS } from '../../machines/tags';

const QUANTITY = /^(0|[1-9]\d{0,29})(\.\d{1,9})?$/;

/** A limit on the command line: a quantity (at most 9 decimal places), or `none` to lift it (kept as the word: commander turns a null into ''). */
function parseLimit(value: string): string {
  if (value !== 'none' && !QUANTITY.test(value)) throw new InvalidArgumentError('expected a quantity with at most 9 decimal places (e.g. 1000 or 2.5), or none');
  return value;
}

const limitValue = (option: string | undefined) => (option === 'none' ? null : option);

interface AssetControlsRow {
  asset_id: string;
  underlying_symbol: string;
  token_symbol: string;
  network: string;
  max_request_qty: string | null;
  daily_mint_cap: string | null;
  daily_redemption_cap: string | null;
  approval_threshold: string | null;
  minted_today: string;
  redeemed_today: string;
  updated_by: string | null;
  updated_at: string | null;
}
interface Issuance {
  paused: boolean;
  pause_reason: string | null;
  changed_by: string | null;
  changed_at: string | null;
}

const shown = (limit: string | null) => limit ?? '-';
const used = (count: string, cap: string | null) => (cap === null ? count : `${count} / ${cap}`);

/** `controls` (the pause and each asset's limits) and `approvals` (mints held for two operators). */
export function controlsCommands(program: Command, context: CommandContext): void {
  const controls = program.command('controls').description('risk controls: the emergency pause and per-asset limits, caps and approval threshold');

  controls
    .command('show')
    .description("the pause, and each asset's limits with what they count today (UTC)")
    .action(async (_o, cmd: Command) => {
      const res = await context.api(cmd).get<{ issuance: Issuance; day: string; assets: AssetControlsRow[] }>('/operator/controls');
      if (context.json(cmd)) return printJson(res);
      print(pauseLine(res.issuance));
      print(
        table(
          ['asset', 'network', 'max per request', `minted ${res.day}`, `redeemed ${res.day}`, 'approval above', 'changed by', 'changed (UTC)'],
          res.assets.map((a) => [a.token_symbol, a.network, shown(a.max_request_qty), used(a.minted_today, a.daily_mint_cap), used(a.redeemed_today, a.daily_redemption_cap), shown(a.approval_threshold), a.updated_by ?? '', when(a.updated_at)]),
        ),
      );
    });

  controls
    .command('set')
    .description("change an asset's limits (quantities of the underlying; none lifts a limit)")
    .argument('<asset>', 'asset id, or token symbol (tAAPL) when it is on one network only')
    .option('--max-request-qty <qty>', 'refuse a mint request above this quantity', parseLimit)
    .option('--daily-mint-cap <qty>', "refuse a mint request that would take the UTC day's mints above this", parseLimit)
    .option('--daily-redemption-cap <qty>', "hold a redemption that would take the UTC day's redemptions above this", parseLimit)
    .option('--approval-threshold <qty>', 'a mint above this waits for two different operators to approve it', parseLimit)
    .action(async (asset: string, o, cmd: Command) => {
      const changes = Object.fromEntries(
        Object.entries({ max_request_qty: o.maxRequestQty, daily_mint_cap: o.dailyMintCap, daily_redemption_cap: o.dailyRedemptionCap, approval_threshold: o.approvalThreshold })
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, limitValue(v)]),
      );
      if (Object.keys(changes).length === 0) throw new UsageError('nothing to set: give at least one of --max-request-qty, --daily-mint-cap, --daily-redemption-cap, --approval-threshold');
      const api = context.api(cmd);
      const assetId = await resolveAsset(api, asset);
      const res = await api.patch<{ changed: boolean; asset: AssetControlsRow }>(`/operator/controls/assets/${encodeURIComponent(assetId)}`, changes);
      if (context.json(cmd)) return printJson(res);
      const a = res.asset;
      print(`${a.token_symbol} on ${a.network}: ${res.changed ? `limits changed by ${a.updated_by}` : 'unchanged (already so)'}`);
      print(
        record([
          ['max per request', shown(a.max_request_qty)],
          ['daily mint cap', shown(a.daily_mint_cap)],
          ['daily redemption cap', shown(a.daily_redemption_cap)],
          ['approval above', shown(a.approval_threshold)],
        ]),
      );
    });

  controls
    .command('pause')
    .description('emergency pause: refuse new mint requests and hold every chain transaction (redemptions are still detected)')
    .requiredOption('--reason <text>', 'why (kept in the journal with your operator id)')
    .action(async (o, cmd: Command) => {
      const res = await context.api(cmd).post<{ changed: boolean; issuance: Issuance }>('/operator/controls/pause', { reason: o.reason });
      if (context.json(cmd)) return printJson(res);
      print(res.changed ? pauseLine(res.issuance) : `already ${pauseLine(res.issuance)}`);
    });

  controls
    .command('resume')
    .description('lift the pause: mint requests are accepted and held chain transactions run')
    .option('--note <text>', 'kept in the journal with your operator id')
    .action(async (o, cmd: Command) => {
      const res = await context.api(cmd).post<{ changed: boolean; issuance: Issuance }>('/operator/controls/resume', o.note === undefined ? {} : { note: o.note });
      if (context.json(cmd)) return printJson(res);
      print(res.changed ? `issuance resumed by ${res.issuance.changed_by}` : 'issuance was not paused: unchanged');
    });

  const approvals = program.command('approvals').description('mints above their approval threshold, waiting for two different operators');

  approvals
    .command('list')
    .description('mints waiting for approval, newest activity first')
    .action(async (_o, cmd: Command) => {
      const res = await context.api(cmd).get<{ flows: Array<{ flow_id: string; state: string; token_symbol: string | null; qty: string | null; created_at: string }> }>('/operator/flows', { type: 'mint', tag: TAGS.approvalPending, limit: 500 });
      if (context.json(cmd)) return printJson(res);
      print(table(['flow', 'state', 'asset', 'qty', 'created (UTC)'], res.flows.map((f) => [f.flow_id, f.state, f.token_symbol ?? '', f.qty ?? '', when(f.created_at)])));
      print(`${res.flows.length} mint${res.flows.length === 1 ? '' : 's'} waiting for approval`);
    });

  approvals
    .command('approve <flowId>')
    .description('approve a held mint: the first approval endorses it, a second by another operator lets it mint')
    .option('--note <text>', 'kept in the journal with your operator id')
    .action((flowId: string, o, cmd: Command) => decide(context, cmd, flowId, 'OPERATOR_APPROVE', o.note));

  approvals
    .command('reject <flowId>')
    .description('reject a held mint: nothing is minted (settle the journaled shares with Alpaca)')
    .option('--note <text>', 'why, kept in the journal with your operator id')
    .action((flowId: string, o, cmd: Command) => decide(context, cmd, flowId, 'OPERATOR_REJECT', o.note));
}

function pauseLine(p: Issuance): string {
  return p.paused ? `issuance PAUSED by ${p.changed_by} at ${when(p.changed_at)} UTC: ${p.pause_reason}` : 'issuance running (not paused)';
}

async function decide(context: CommandContext, cmd: Command, flowId: string, type: 'OPERATOR_APPROVE' | 'OPERATOR_REJECT', note: string | undefined): Promise<void> {
  const res = await context.api(cmd).post<{ flow: { state: string; status: string; tags: string[]; snapshot: { context: { approvedBy?: string } } } }>(`${flowPath(flowId)}/events`, note === undefined ? { type } : { type, note });
  if (context.json(cmd)) return printJson({ event: type, ...res });
  const f = res.flow;
  const outcome =
    type === 'OPERATOR_REJECT'
      ? 'rejected; nothing will be minted'
      : f.tags.includes(TAGS.secondApprovalPending)
        ? `endorsed by ${f.snapshot.context.approvedBy}; a different operator must approve it too`
        : `approved; now ${f.state}`;
  print(`${flowId}: ${outcome}`);
}

/** An asset id as is, or the id of the one asset with this token symbol. */
async function resolveAsset(api: OperatorApi, asset: string): Promise<string> {
  const { assets } = await api.get<{ assets: Array<{ asset_id: string; token_symbol: string; network: string }> }>('/operator/assets');
  if (assets.some((a) => a.asset_id === asset)) return asset;
  const matches = assets.filter((a) => a.token_symbol.toLowerCase() === asset.toLowerCase());
  if (matches.length === 1) return matches[0]!.asset_id;
  if (matches.length === 0) throw new CliFailure(`no asset ${asset} (give an asset id or a token symbol; see controls show)`);
  throw new CliFailure(`${asset} is on several networks (${matches.map((m) => m.network).join(', ')}): give the asset id`);
}
