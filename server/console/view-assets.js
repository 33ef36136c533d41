// The asset registry, with the halt switch: a halted asset takes no new mint or redemption (flows
// under way carry on). Halting asks for a reason, which is journaled with the operator's name.

import { getJson, postJson } from './api.js';
import { coalesce, errorBox, flag, h, notice, replace, short, table, time } from './dom.js';

export function mountAssets(root) {
  let disposed = false;
  const box = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));

  async function act(asset, action, body) {
    try {
      const after = await postJson(`/operator/assets/${encodeURIComponent(asset.asset_id)}/${action}`, body);
      notice(action === 'halt' ? `${after.token_symbol} halted` : `${after.token_symbol} resumed`);
      load();
    } catch (err) {
      notice(err.message, 'error');
    }
  }

  /** Halt opens a reason field in the row; resume is one click (it only lifts a halt). */
  function switches(asset) {
    if (asset.halted) return h('button', { type: 'button', class: 'small', 'data-action': 'resume', onclick: () => act(asset, 'resume') }, 'Resume');
    const holder = h('div', { class: 'row-action' });
    const open = () => {
      const reason = h('input', { placeholder: 'Reason (journaled)', maxlength: '500', class: 'reason', 'aria-label': `Reason to halt ${asset.token_symbol}` });
      const confirm = () => {
        const text = reason.value.trim();
        if (!text) {
          reason.focus();
          notice('A halt needs a reason', 'error');
          return;
        }
        act(asset, 'halt', { reason: text });
      };
      reason.addEventListener('keydown', (ev) => ev.key === 'Enter' && confirm());
      replace(holder, reason, h('button', { type: 'button', class: 'small danger', 'data-action': 'confirm-halt', onclick: confirm }, 'Halt now'), h('button', { type: 'button', class: 'small quiet', onclick: () => replace(holder, trigger) }, 'Cancel'));
      reason.focus();
    };
    const trigger = h('button', { type: 'button', class: 'small danger', 'data-action': 'halt', onclick: open }, 'Halt…');
    return replace(holder, trigger);
  }

  async function load() {
    try {
      const { assets } = await getJson('/operator/assets');
      if (disposed) return;
      replace(
        box,
        table(
          [
            { title: 'Token', cell: (a) => h('strong', {}, a.token_symbol) },
            { title: 'Underlying', cell: (a) => a.underlying_symbol },
            { title: 'Network', cell: (a) => a.network },
            { title: 'Vault', cell: (a) => short(a.vault_address) },
            { title: 'Decimals', cell: (a) => String(a.decimals), class: 'num' },
            { title: 'Offered', cell: (a) => flag(!a.enabled, 'disabled', 'enabled') },
            { title: 'Trading', cell: (a) => (a.halted ? h('span', {}, h('span', { class: 'badge danger' }, 'HALTED'), a.halt_reason ? h('span', { class: 'muted halt-reason' }, ` ${a.halt_reason}`) : null) : h('span', { class: 'badge ok' }, 'open')) },
            { title: 'Changed', cell: (a) => time(a.updated_at) },
            { title: '', cell: switches },
          ],
          assets,
          { rowAttrs: (a) => ({ 'data-asset-id': a.asset_id, 'data-token': a.token_symbol, 'data-halted': String(a.halted), class: a.halted ? 'halted' : '' }), empty: 'No assets registered.' },
        ),
      );
    } catch (err) {
      if (!disposed) replace(box, errorBox(err));
    }
  }

  replace(root, h('div', { class: 'view-head' }, h('h1', {}, 'Assets'), h('p', { class: 'hint' }, 'The tokenized assets offered to Alpaca. Changes made elsewhere (another operator, the command line) show up here live.')), h('section', { class: 'card' }, box));
  const reloadSoon = coalesce(load, 300);
  load();
  return {
    onJournal(entries) {
      // Not while a halt reason is being typed: the reload would throw the field away.
      if (entries.some((e) => e.flow_type === 'asset') && !box.querySelector('input.reason')) reloadSoon();
    },
    onReady: load,
    unmount() {
      disposed = true;
      reloadSoon.cancel();
    },
  };
}
