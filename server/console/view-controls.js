// Risk controls (the emergency pause and each asset's limits) and the mints held for approval.

import { ApiError, getJson, postJson, query } from './api.js';
import { ago, anyValue, coalesce, errorBox, flowLink, h, notAvailable, notice, replace, stateBadge, table, time } from './dom.js';

export const CONTROLS_PATH = '/operator/controls';
/** The tag of a mint held for approval (machines/tags.ts). */
const APPROVAL_TAG = 'approvalPending';

function pausePanel(issuance, act, typed) {
  const paused = issuance?.paused === true;
  const text = h('input', { placeholder: paused ? 'Note (optional, journaled)' : 'Reason (required, journaled)', maxlength: '500', class: 'reason', 'aria-label': paused ? 'Note' : 'Reason' });
  if (typed) text.value = typed;
  const run = () => {
    const value = text.value.trim();
    if (!paused && !value) {
      text.focus();
      notice('Pausing needs a reason', 'error');
      return;
    }
    act(paused ? 'resume' : 'pause', paused ? (value ? { note: value } : {}) : { reason: value });
  };
  return h(
    'div',
    { class: 'pause-panel' },
    h('p', { class: `control-state ${paused ? 'paused' : 'running'}`, 'data-paused': String(paused) }, paused ? 'Issuance is PAUSED' : 'Issuance is running'),
    paused && issuance.pause_reason ? h('p', {}, 'Reason: ', h('strong', {}, issuance.pause_reason)) : null,
    issuance?.changed_by ? h('p', { class: 'muted' }, `Last changed by ${issuance.changed_by} `, time(issuance.changed_at)) : null,
    h('div', { class: 'buttons' }, text, h('button', { type: 'button', class: paused ? 'primary' : 'danger', 'data-action': paused ? 'resume' : 'pause', onclick: run }, paused ? 'Resume issuance' : 'Pause issuance')),
  );
}

const limitColumns = [
  { title: 'Token', cell: (a) => h('strong', {}, a.token_symbol ?? '—') },
  { title: 'Network', cell: (a) => a.network ?? '—' },
  { title: 'Max per request', cell: (a) => anyValue(a.max_request_qty), class: 'num mono' },
  { title: 'Daily mint cap', cell: (a) => anyValue(a.daily_mint_cap), class: 'num mono' },
  { title: 'Minted today', cell: (a) => anyValue(a.minted_today), class: 'num mono' },
  { title: 'Daily redemption cap', cell: (a) => anyValue(a.daily_redemption_cap), class: 'num mono' },
  { title: 'Redeemed today', cell: (a) => anyValue(a.redeemed_today), class: 'num mono' },
  { title: 'Approval above', cell: (a) => anyValue(a.approval_threshold), class: 'num mono' },
  { title: 'Changed by', cell: (a) => (a.updated_by ? [a.updated_by, ' ', time(a.updated_at)] : '—') },
];

export function mountControls(root) {
  let disposed = false;
  const controlsBox = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const approvalsBox = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));

  async function act(action, body) {
    try {
      await postJson(`${CONTROLS_PATH}/${action}`, body);
      notice(action === 'pause' ? 'Issuance paused' : 'Issuance resumed');
      loadControls();
    } catch (err) {
      notice(err instanceof ApiError && err.notAvailable ? `This instance does not serve ${CONTROLS_PATH}/${action}` : err.message, 'error');
    }
  }

  async function decide(flow, type) {
    try {
      await postJson(`/operator/flows/${encodeURIComponent(flow.flow_id)}/events`, { type });
      notice(`${type} accepted for ${flow.flow_id}`);
      loadApprovals();
    } catch (err) {
      notice(err.message, 'error');
    }
  }

  async function loadControls() {
    try {
      const controls = await getJson(CONTROLS_PATH);
      if (disposed) return;
      // A reload that lands while a reason is being typed keeps it, as long as the pause state is the same.
      const field = controlsBox.querySelector('input.reason');
      const sameState = controlsBox.querySelector('.control-state')?.dataset.paused === String(controls.issuance?.paused === true);
      replace(
        controlsBox,
        pausePanel(controls.issuance, act, sameState ? field?.value : undefined),
        h('h3', {}, `Limits per asset${controls.day ? ` (counted for ${controls.day}, UTC)` : ''}`),
        table(limitColumns, controls.assets ?? [], { empty: 'No assets.' }),
      );
    } catch (err) {
      if (!disposed) replace(controlsBox, err instanceof ApiError && err.notAvailable ? notAvailable('Risk controls', CONTROLS_PATH) : errorBox(err));
    }
  }

  async function loadApprovals() {
    try {
      const { flows } = await getJson(`/operator/flows${query({ tag: APPROVAL_TAG, limit: 200 })}`);
      if (disposed) return;
      replace(
        approvalsBox,
        table(
          [
            { title: 'Flow', cell: (f) => flowLink(f.flow_id) },
            { title: 'Approvals', cell: (f) => stateBadge(f.state, f) },
            { title: 'Asset', cell: (f) => f.token_symbol ?? '—' },
            { title: 'Qty', cell: (f) => f.qty ?? '—', class: 'num' },
            { title: 'Requested', cell: (f) => time(f.created_at) },
            { title: 'Waiting', cell: (f) => ago(f.updated_at) },
            {
              title: '',
              cell: (f) =>
                h(
                  'div',
                  { class: 'buttons' },
                  h('button', { type: 'button', class: 'small primary', 'data-action': 'approve', onclick: () => decide(f, 'OPERATOR_APPROVE') }, 'Approve'),
                  h('button', { type: 'button', class: 'small danger', 'data-action': 'reject', onclick: () => decide(f, 'OPERATOR_REJECT') }, 'Reject'),
                ),
            },
          ],
          flows,
          { rowAttrs: (f) => ({ 'data-flow-id': f.flow_id, 'data-state': f.state }), empty: 'No mint is waiting for approval.' },
        ),
      );
    } catch (err) {
      if (!disposed) replace(approvalsBox, errorBox(err));
    }
  }

  replace(
    root,
    h('div', { class: 'view-head' }, h('h1', {}, 'Controls & approvals')),
    h('section', { class: 'card' }, h('h2', {}, 'Waiting for approval'), h('p', { class: 'hint' }, 'Mints above their asset\'s approval threshold: two different operators approve (four eyes), or one rejects. Each decision is journaled under your operator name.'), approvalsBox),
    h('section', { class: 'card' }, h('h2', {}, 'Risk controls'), controlsBox),
  );
  const reloadSoon = coalesce(() => (loadControls(), loadApprovals()), 500);
  loadControls();
  loadApprovals();
  return {
    // Not while a reason is being typed: the reload would throw the field away.
    onJournal: (entries) => entries.length && !(controlsBox.querySelector('input.reason')?.value) && reloadSoon(),
    onReady: () => (loadControls(), loadApprovals()),
    unmount() {
      disposed = true;
      reloadSoon.cancel();
    },
  };
}
