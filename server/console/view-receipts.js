// The ERC-1155 receipts the issuer holds (one per mint), optionally checked against the chain.

import { getJson } from './api.js';
import { coalesce, errorBox, flag, h, replace, short, table, units } from './dom.js';

export function mountReceipts(root) {
  let disposed = false;
  let verified = false;
  const summary = h('div');
  const box = h('div');

  /** Decimals per vault, from the asset registry: receipts count base units. */
  let decimals = new Map();
  const shares = (r, raw) => units(raw, decimals.get(`${r.network}:${r.vault_address.toLowerCase()}`));

  const columns = () => [
    { title: 'Token', cell: (r) => r.token_symbol },
    { title: 'Network', cell: (r) => r.network },
    { title: 'Vault', cell: (r) => short(r.vault_address) },
    { title: 'Receipt id', cell: (r) => short(r.receipt_id, 8), class: 'num' },
    { title: 'Shares minted', cell: (r) => shares(r, r.shares_minted), class: 'num' },
    { title: 'Shares remaining', cell: (r) => shares(r, r.shares_remaining), class: 'num' },
    { title: 'Minted by request', cell: (r) => short(r.minted_by, 8) },
    { title: 'Deposit tx', cell: (r) => short(r.tx_hash, 8) },
    ...(verified ? [{ title: 'On chain', cell: (r) => shares(r, r.on_chain), class: 'num' }, { title: 'Matches', cell: (r) => flag(!r.matches, 'MISMATCH', 'ok', 'danger') }] : []),
  ];

  async function load(verify) {
    verified = verify;
    replace(box, h('p', { class: 'muted' }, verify ? 'Reading every receipt balance on chain…' : 'Loading…'));
    try {
      const [body, registry] = await Promise.all([getJson(`/operator/receipts${verify ? '?verify=chain' : ''}`), getJson('/operator/assets')]);
      if (disposed) return;
      decimals = new Map(registry.assets.map((a) => [`${a.network}:${a.vault_address.toLowerCase()}`, a.decimals]));
      verified = verify && 'mismatches' in body;
      const n = body.receipts.length;
      replace(
        summary,
        h('p', {}, `${n} receipt${n === 1 ? '' : 's'} held.`),
        verified ? (body.mismatches ? h('p', { class: 'alarm-text' }, `${body.mismatches} receipt(s) differ from the chain.`) : h('p', { class: 'ok-text' }, 'Every receipt matches its on-chain balance.')) : null,
      );
      replace(box, table(columns(), body.receipts, { rowAttrs: (r) => ({ class: verified && !r.matches ? 'mismatch' : '' }), empty: 'No receipts yet.' }));
    } catch (err) {
      if (!disposed) replace(box, errorBox(err));
    }
  }

  replace(
    root,
    h('div', { class: 'view-head' }, h('h1', {}, 'Receipt inventory'), h('p', { class: 'hint' }, 'What each mint left with the issuer, and what redemptions have burnt since.')),
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => load(false) }, 'Reload'), h('button', { type: 'button', class: 'primary', onclick: () => load(true) }, 'Verify against the chain')),
      summary,
      box,
    ),
  );
  // A confirmed mint adds a receipt (recorded with MINT_CONFIRMED); a recorded burn lowers one.
  const reloadSoon = coalesce(() => load(verified), 1000);
  load(false);
  return {
    onJournal(entries) {
      if (entries.some((e) => e.type === 'MINT_CONFIRMED' || e.tags?.includes('burnRecorded'))) reloadSoon();
    },
    onReady: () => load(verified),
    unmount() {
      disposed = true;
      reloadSoon.cancel();
    },
  };
}
