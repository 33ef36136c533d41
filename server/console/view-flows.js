// Flows in flight and recently finished, with stuck flows and flows waiting for a person on top.

import { ApiError, getJson, query } from './api.js';
import { ago, coalesce, debounce, errorBox, flowLink, h, replace, stateBadge, table, time } from './dom.js';

const FLOW_TYPES = ['mint', 'redemption'];

const columns = [
  { title: 'Flow', cell: (f) => flowLink(f.flow_id) },
  { title: 'Type', cell: (f) => f.flow_type },
  { title: 'State', cell: (f) => stateBadge(f.state, { status: f.status, needsOperator: f.needs_operator }), class: 'state-cell' },
  { title: 'Asset', cell: (f) => f.token_symbol ?? f.underlying_symbol ?? '—' },
  { title: 'Qty', cell: (f) => f.qty ?? '—', class: 'num' },
  { title: 'Seq', cell: (f) => String(f.seq), class: 'num seq-cell' },
  { title: 'Last change', cell: (f) => [time(f.updated_at), h('span', { class: 'muted ago' }, ` ${ago(f.updated_at)}`)], class: 'updated-cell' },
  { title: 'Created', cell: (f) => time(f.created_at) },
];

const withFailure = [...columns.slice(0, 3), { title: 'What went wrong', cell: (f) => (f.failure ? h('span', { class: 'failure' }, f.failure) : '—') }, ...columns.slice(3)];

const rowAttrs = (f) => ({ 'data-flow-id': f.flow_id, 'data-state': f.state, class: f.needs_operator ? 'needs-operator' : f.status !== 'active' ? 'finished' : '' });

/** Filters live in the hash (`#/flows?type=mint&state=minting`), so a view can be bookmarked; never the token. */
function readFilters(params) {
  return {
    type: params.get('type') ?? '',
    state: params.get('state') ?? '',
    asset: params.get('asset') ?? '',
    needs_operator: params.get('needs_operator') ?? '',
    show: params.get('show') ?? 'all',
    stuck_minutes: params.get('stuck_minutes') ?? '30',
  };
}

export function mountFlows(root, params) {
  const filters = readFilters(params);
  const stuckBox = h('div');
  const operatorBox = h('div');
  const listBox = h('div');
  let pages = [];
  let cursor = null;
  let disposed = false;

  const writeHash = () => {
    const q = query({ ...filters, show: filters.show === 'all' ? '' : filters.show, stuck_minutes: filters.stuck_minutes === '30' ? '' : filters.stuck_minutes });
    history.replaceState(null, '', `#/flows${q}`);
  };

  const field = (label, control) => h('label', { class: 'field' }, h('span', {}, label), control);
  const select = (name, options) =>
    h(
      'select',
      { name, onchange: (ev) => ((filters[name] = ev.target.value), writeHash(), refresh()) },
      options.map(([value, text]) => h('option', { value, selected: filters[name] === value }, text)),
    );
  const text = (name, placeholder) => {
    const apply = debounce(() => (writeHash(), refresh()), 400);
    return h('input', { name, value: filters[name], placeholder, spellcheck: 'false', oninput: (ev) => ((filters[name] = ev.target.value.trim()), apply()) });
  };
  const stuckMinutes = h('input', {
    type: 'number',
    min: '1',
    value: filters.stuck_minutes,
    class: 'minutes',
    'aria-label': 'minutes without progress',
    onchange: (ev) => ((filters.stuck_minutes = String(Math.max(1, Number(ev.target.value) || 30))), writeHash(), loadStuck()),
  });

  replace(
    root,
    h('div', { class: 'view-head' }, h('h1', {}, 'Flows'), h('p', { class: 'hint' }, 'Mints and redemptions, most recently changed first. Rows change as the journal moves.')),
    h('section', { class: 'card stuck-card' }, h('h2', {}, 'Stuck: no progress for ', stuckMinutes, ' min'), stuckBox),
    h('section', { class: 'card operator-card' }, h('h2', {}, 'Waiting for an operator'), operatorBox),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Flows in flight and recently finished'),
      h(
        'form',
        { class: 'filters', onsubmit: (ev) => ev.preventDefault() },
        field('Type', select('type', [['', 'any'], ...FLOW_TYPES.map((t) => [t, t])])),
        field('State', text('state', 'e.g. minting or callingBack')),
        field('Asset', text('asset', 'tAAPL or AAPL')),
        field('Needs operator', select('needs_operator', [['', 'any'], ['true', 'yes'], ['false', 'no']])),
        field('Show', select('show', [['all', 'all'], ['active', 'in flight'], ['finished', 'finished']])),
      ),
      listBox,
    ),
  );

  async function loadStuck() {
    try {
      const { flows } = await getJson(`/operator/flows${query({ stuck: 'true', stuck_minutes: filters.stuck_minutes, limit: 50 })}`);
      if (disposed) return;
      stuckBox.closest('section').classList.toggle('alarm', flows.length > 0);
      replace(stuckBox, table(withFailure, flows, { rowAttrs, empty: 'No stuck flows.' }));
    } catch (err) {
      if (!disposed) replace(stuckBox, errorBox(err));
    }
  }

  async function loadNeedsOperator() {
    try {
      const { flows } = await getJson(`/operator/flows${query({ needs_operator: 'true', limit: 50 })}`);
      if (disposed) return;
      operatorBox.closest('section').classList.toggle('alarm', flows.length > 0);
      replace(operatorBox, table(withFailure, flows, { rowAttrs, empty: 'No flow is waiting for a person.' }));
    } catch (err) {
      if (!disposed) replace(operatorBox, errorBox(err));
    }
  }

  const shown = (f) => filters.show === 'all' || (filters.show === 'active' ? f.status === 'active' : f.status !== 'active');

  function renderList() {
    const flows = pages.flat().filter(shown);
    replace(
      listBox,
      table(columns, flows, { rowAttrs, empty: 'No flow matches these filters.' }),
      cursor ? h('button', { type: 'button', class: 'more', onclick: () => loadList(cursor) }, 'Load more') : null,
    );
  }

  async function loadList(after) {
    const q = query({ type: filters.type, state: filters.state, asset: filters.asset, needs_operator: filters.needs_operator, limit: 100, cursor: after });
    try {
      const page = await getJson(`/operator/flows${q}`);
      if (disposed) return;
      pages = after ? [...pages, page.flows] : [page.flows];
      cursor = page.next_cursor;
      renderList();
    } catch (err) {
      if (disposed) return;
      replace(listBox, err instanceof ApiError && err.code === 'invalid_request' ? errorBox(new Error(`Filter refused: ${err.body.issues?.map((i) => `${i.path} ${i.message}`).join('; ') ?? err.message}`)) : errorBox(err));
    }
  }

  function refresh() {
    loadStuck();
    loadNeedsOperator();
    // Past the first page a reload would throw away what was paged in; rows are patched in place instead.
    if (pages.length <= 1) loadList();
  }
  const refreshSoon = coalesce(refresh, 700);

  /** Patches rows at once (state, seq, last change), then reloads the lists to re-apply the filters. */
  function onJournal(entries) {
    let flowsMoved = false;
    for (const e of entries) {
      if (e.state === null) continue;
      flowsMoved = true;
      for (const f of pages.flat()) {
        if (f.flow_id !== e.flow_id || e.seq <= f.seq) continue;
        Object.assign(f, { state: e.state, status: e.status, needs_operator: e.needs_operator, seq: e.seq, updated_at: e.recorded_at });
      }
    }
    if (!flowsMoved) return;
    renderList();
    for (const row of listBox.querySelectorAll('tr[data-flow-id]')) {
      if (entries.some((e) => e.flow_id === row.dataset.flowId)) row.classList.add('flash');
    }
    refreshSoon();
  }

  refresh();
  return {
    onJournal,
    onReady: refresh,
    unmount() {
      disposed = true;
      refreshSoon.cancel();
    },
  };
}
