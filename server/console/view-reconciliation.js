// Reconciliation of reserves: per underlying, Alpaca's position against what the chain and the
// flows in flight say it should be, per vault the receipt inventory against the supply, and the
// alerts raised when they drift apart. Fields the console does not know are shown as they come.

import { ApiError, getJson } from './api.js';
import { anyValue, coalesce, errorBox, flag, h, notAvailable, replace, short, table, time } from './dom.js';

export const RECONCILIATION_PATH = '/operator/reconciliation';

const STATUS_KIND = { reconciled: 'ok', drift: 'danger', unavailable: 'warn' };
const statusBadge = (status) => h('span', { class: `badge ${STATUS_KIND[status] ?? 'neutral'}`, 'data-status': status ?? '' }, status ?? '—');
const tolerance = (within) => (within === null || within === undefined ? h('span', { class: 'muted' }, '—') : flag(!within, 'OUT OF TOLERANCE', 'within', 'danger'));

function alertItem(alert) {
  if (typeof alert !== 'object' || alert === null) return h('li', { class: 'alert-item' }, String(alert));
  const { kind, severity, underlying_symbol: symbol, network, message, ...rest } = alert;
  return h(
    'li',
    { class: 'alert-item', 'data-kind': kind ?? '' },
    kind || severity ? h('span', { class: 'badge danger' }, kind ?? severity) : null,
    symbol ? h('strong', {}, ` ${symbol}${network ? ` on ${network}` : ''}`) : null,
    message ? h('span', {}, ` ${message}`) : null,
    Object.keys(rest).length ? h('div', { class: 'alert-details' }, Object.entries(rest).map(([k, v]) => h('span', { class: 'kv' }, `${k}: `, anyValue(v)))) : null,
  );
}

export function alertsPanel(alerts) {
  if (!alerts?.length) return h('div', { class: 'all-clear' }, 'No reconciliation alerts.');
  return h('div', { class: 'alerts', role: 'alert' }, h('h2', {}, `${alerts.length} reconciliation alert${alerts.length === 1 ? '' : 's'}`), h('ul', {}, alerts.map(alertItem)));
}

const KNOWN_ASSET = ['underlying_symbol', 'token_symbols', 'token_symbol', 'status', 'alpaca_shares', 'expected_alpaca_shares', 'drift', 'explained_drift', 'within_tolerance', 'networks', 'error'];

function assetColumns(assets) {
  const extra = [...new Set(assets.flatMap((a) => Object.keys(a)))].filter((k) => !KNOWN_ASSET.includes(k));
  return [
    { title: 'Underlying', cell: (a) => h('strong', {}, a.underlying_symbol ?? '—') },
    { title: 'Tokens', cell: (a) => (a.token_symbols ?? [a.token_symbol]).filter(Boolean).join(', ') || '—' },
    { title: 'Status', cell: (a) => statusBadge(a.status) },
    { title: 'At Alpaca', cell: (a) => anyValue(a.alpaca_shares), class: 'num mono' },
    { title: 'Expected', cell: (a) => anyValue(a.expected_alpaca_shares), class: 'num mono' },
    { title: 'Drift', cell: (a) => anyValue(a.drift), class: 'num mono drift' },
    { title: 'Explained by flows in flight', cell: (a) => (a.explained_drift ? `${a.explained_drift.min} … ${a.explained_drift.max}` : '—'), class: 'mono' },
    { title: 'Tolerance', cell: (a) => tolerance(a.within_tolerance) },
    ...extra.map((k) => ({ title: k, cell: (a) => anyValue(a[k]) })),
    { title: 'Error', cell: (a) => (a.error ? h('span', { class: 'failure' }, a.error) : '—') },
  ];
}

const networkColumns = [
  { title: 'Asset', cell: (n) => n.underlying_symbol },
  { title: 'Token', cell: (n) => n.token_symbol },
  { title: 'Network', cell: (n) => n.network },
  { title: 'Vault', cell: (n) => short(n.vault_address) },
  { title: 'Block', cell: (n) => anyValue(n.block_number), class: 'num' },
  { title: 'Supply on chain', cell: (n) => anyValue(n.onchain_supply), class: 'num mono' },
  { title: 'Receipt inventory', cell: (n) => anyValue(n.receipt_inventory), class: 'num mono' },
  { title: 'Expected inventory', cell: (n) => anyValue(n.expected_receipt_inventory), class: 'num mono' },
  { title: 'Inventory drift', cell: (n) => anyValue(n.inventory_drift), class: 'num mono' },
  { title: 'Tolerance', cell: (n) => tolerance(n.inventory_within_tolerance) },
  { title: 'Error', cell: (n) => (n.error ? h('span', { class: 'failure' }, n.error) : '—') },
];

function report(r) {
  const assets = r.assets ?? [];
  const networks = assets.flatMap((a) => (Array.isArray(a.networks) ? a.networks.map((n) => ({ underlying_symbol: a.underlying_symbol, ...n })) : []));
  return [
    alertsPanel(r.alerts),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Reserves by asset ', statusBadge(r.status)),
      h('p', { class: 'hint' }, 'Generated ', time(r.generated_at), r.tolerance !== undefined ? ['; tolerance ', h('code', {}, String(r.tolerance)), ' shares'] : null, '.'),
      table(assetColumns(assets), assets, { rowAttrs: (a) => ({ class: a.within_tolerance === false || a.status === 'drift' ? 'mismatch' : '', 'data-underlying': a.underlying_symbol }), empty: 'No assets in the report.' }),
    ),
    networks.length
      ? h('section', { class: 'card' }, h('h2', {}, 'Receipt inventory by vault'), table(networkColumns, networks, { rowAttrs: (n) => ({ class: n.inventory_within_tolerance === false ? 'mismatch' : '' }) }))
      : null,
  ];
}

export function mountReconciliation(root) {
  let disposed = false;
  const box = h('div', { class: 'view' }, h('p', { class: 'muted' }, 'Reconciling…'));

  async function load() {
    try {
      const r = await getJson(RECONCILIATION_PATH);
      if (!disposed) replace(box, ...report(r));
    } catch (err) {
      if (disposed) return;
      if (err instanceof ApiError && err.notAvailable) replace(box, notAvailable('Reconciliation', RECONCILIATION_PATH));
      else if (err instanceof ApiError && err.code === 'reconciliation_unavailable') replace(box, h('div', { class: 'not-available' }, h('strong', {}, 'Reconciliation: not available'), ` — ${err.message}.`));
      else replace(box, errorBox(err));
    }
  }

  replace(
    root,
    h('div', { class: 'view-head' }, h('h1', {}, 'Reconciliation'), h('p', { class: 'hint' }, "Alpaca's position and the receipt inventory against the chain, per asset."), h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => load() }, 'Reconcile again'))),
    box,
  );
  // A finished flow moves the figures; reconciling reads the chain and Alpaca, so not on every event.
  const reloadSoon = coalesce(load, 3000);
  load();
  return {
    onJournal(entries) {
      if (entries.some((e) => e.status === 'done')) reloadSoon();
    },
    onReady: load,
    unmount() {
      disposed = true;
      reloadSoon.cancel();
    },
  };
}
