// One flow: where it stands on its machine's chart, its journal timeline, its effects and timers,
// and the operator events its state takes.

import { ApiError, getJson, postJson } from './api.js';
import { highlightState, loadChart } from './chart.js';
import { anyValue, coalesce, errorBox, flag, h, notice, replace, section, stateBadge, table, time } from './dom.js';

function facts(flow) {
  const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  return h(
    'dl',
    { class: 'facts' },
    row('Type', flow.flowType),
    row('Status', flow.status),
    row('Needs operator', flag(flow.needsOperator, 'yes', 'no', 'danger')),
    row('Events (seq)', String(flow.seq)),
    row('Machine', h('span', { class: 'mono' }, flow.machineVersion)),
    row('Created', time(flow.createdAt)),
    row('Last change', time(flow.updatedAt)),
  );
}

/** The flow's context, as its machine keeps it (amounts, wallet, tx hashes, the last failure). */
function context(ctx) {
  const entries = Object.entries(ctx ?? {});
  if (!entries.length) return h('p', { class: 'empty' }, 'No context.');
  return h(
    'dl',
    { class: 'facts context' },
    entries.map(([k, v]) => [h('dt', {}, k), h('dd', { class: k === 'failure' ? 'failure' : '' }, anyValue(v))]),
  );
}

function payloadSummary(payload) {
  const entries = Object.entries(payload ?? {}).filter(([k]) => k !== 'operator');
  if (!entries.length) return h('span', { class: 'muted' }, '—');
  const text = JSON.stringify(Object.fromEntries(entries));
  if (text.length <= 120) return h('code', { class: 'json' }, text);
  return h('details', {}, h('summary', {}, h('code', { class: 'json' }, `${text.slice(0, 100)}…`)), h('pre', { class: 'json' }, JSON.stringify(Object.fromEntries(entries), null, 2)));
}

const timelineColumns = [
  { title: 'Seq', cell: (e) => String(e.seq), class: 'num' },
  { title: 'Recorded', cell: (e) => time(e.recorded_at) },
  { title: 'Event', cell: (e) => h('span', { class: 'mono event-type' }, e.type) },
  { title: 'By', cell: (e) => (e.operator ? h('span', { class: 'badge neutral' }, e.operator) : h('span', { class: 'muted' }, 'service')) },
  { title: 'Details', cell: (e) => payloadSummary(e.payload) },
];

export function mountFlow(root, flowId) {
  let disposed = false;
  let svg;
  let flowType;
  const stateBox = h('span', { id: 'flow-state' });
  const factsBox = h('div');
  const actionsBox = h('div');
  const contextBox = h('div');
  const chartBox = h('div', { class: 'chart', id: 'chart' }, h('p', { class: 'muted' }, 'Loading the chart…'));
  const timelineBox = h('div');
  const effectsBox = h('div');
  const timersBox = h('div');

  replace(
    root,
    h('div', { class: 'view-head' }, h('a', { href: '#/flows', class: 'back' }, '← All flows'), h('h1', { class: 'mono flow-title' }, flowId), stateBox),
    h(
      'div',
      { class: 'flow-grid' },
      h('div', { class: 'flow-side' }, section('Flow', factsBox), section('Operator actions', actionsBox), section('Context', contextBox)),
      section('State chart', h('p', { class: 'hint' }, 'The current state is outlined in blue; red states wait for an operator; double borders are final.'), chartBox),
    ),
    section('Journal timeline', timelineBox),
    h('div', { class: 'two-up' }, section('Effects (outbox)', effectsBox), section('Timers', timersBox)),
  );

  // Where the flow stands, by seq: a reload that left before a live event must not move it back.
  let current = { seq: 0 };
  function showState(next) {
    if (next.seq < current.seq) return;
    current = next;
    replace(stateBox, stateBadge(next.state, next));
    stateBox.dataset.state = next.state;
    if (svg) {
      const node = highlightState(svg, flowType, next.state);
      chartBox.dataset.highlighted = node ? node.querySelector('title').textContent : '';
    }
  }

  function actions(detail) {
    const events = detail.operator_events;
    if (!events.length) return h('p', { class: 'empty' }, detail.flow.status === 'active' ? 'This state takes no operator event; the service is working on it.' : 'The flow is finished.');
    const note = h('input', { placeholder: 'Note for the journal (optional)', maxlength: '1000', class: 'note' });
    const confirmBox = h('div', { class: 'confirm', hidden: true });
    const ask = (type) => {
      replace(
        confirmBox,
        h('p', {}, 'Send ', h('strong', { class: 'mono' }, type), ' to this flow? It is journaled under your operator name.'),
        note,
        h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'primary', onclick: () => send(type) }, `Send ${type}`), h('button', { type: 'button', class: 'quiet', onclick: () => (confirmBox.hidden = true) }, 'Cancel')),
      );
      confirmBox.hidden = false;
      note.focus();
    };
    const send = async (type) => {
      try {
        await postJson(`/operator/flows/${encodeURIComponent(flowId)}/events`, note.value.trim() ? { type, note: note.value.trim() } : { type });
        notice(`${type} accepted`);
        confirmBox.hidden = true;
        load();
      } catch (err) {
        notice(err.message, 'error');
      }
    };
    return h('div', {}, h('div', { class: 'buttons' }, events.map((type) => h('button', { type: 'button', class: /REJECT|CLOSE/.test(type) ? 'danger' : 'primary', 'data-event': type, onclick: () => ask(type) }, type))), confirmBox);
  }

  function effects(detail) {
    const runNow = async (effect) => {
      try {
        const r = await postJson(`/operator/flows/${encodeURIComponent(flowId)}/effects/${encodeURIComponent(effect.effect_id)}/retry`, {});
        notice(r.outcome === 'made_due' ? `${effect.type} will run now` : `${effect.type} was already due`);
        load();
      } catch (err) {
        notice(err.message, 'error');
      }
    };
    return table(
      [
        { title: 'Effect', cell: (e) => h('span', { class: 'mono' }, e.type) },
        { title: 'Status', cell: (e) => h('span', { class: `badge effect-${e.status}` }, e.running ? 'running' : e.in_backoff ? 'backoff' : e.status) },
        { title: 'Attempts', cell: (e) => String(e.attempts), class: 'num' },
        { title: 'Next attempt', cell: (e) => (e.status === 'pending' ? time(e.next_attempt_at) : '—') },
        { title: 'Last error', cell: (e) => (e.last_error ? h('span', { class: 'failure' }, e.last_error) : '—') },
        { title: 'Asked in', cell: (e) => h('span', { class: 'mono' }, e.issued_in || '—') },
        { title: '', cell: (e) => (e.status === 'pending' && e.in_backoff && !e.running ? h('button', { type: 'button', class: 'small', onclick: () => runNow(e) }, 'Run now') : null) },
      ],
      detail.outbox,
      { empty: 'No effects.' },
    );
  }

  async function load() {
    let detail;
    try {
      detail = await getJson(`/operator/flows/${encodeURIComponent(flowId)}`);
    } catch (err) {
      if (disposed) return;
      replace(factsBox, err instanceof ApiError && err.code === 'flow_not_found' ? h('p', { class: 'error' }, 'No such flow.') : errorBox(err));
      return;
    }
    if (disposed) return;
    const { flow } = detail;
    if (!svg && flowType === undefined) {
      flowType = flow.flowType;
      loadChart(flowType).then(
        (chart) => {
          if (disposed) return;
          svg = chart;
          replace(chartBox, svg);
          showState(current);
        },
        (err) => !disposed && replace(chartBox, errorBox(err)),
      );
    }
    showState({ seq: flow.seq, state: flow.state, status: flow.status, needsOperator: flow.needsOperator });
    replace(factsBox, facts(flow));
    replace(actionsBox, actions(detail));
    replace(contextBox, context(flow.snapshot.context));
    replace(timelineBox, table(timelineColumns, [...detail.timeline].reverse(), { rowAttrs: (e) => ({ 'data-seq': e.seq, 'data-type': e.type }), empty: 'No events.' }));
    replace(effectsBox, effects(detail));
    replace(
      timersBox,
      table(
        [
          { title: 'Timer', cell: (t) => h('span', { class: 'mono' }, t.send_id) },
          { title: 'Due', cell: (t) => time(t.due_at) },
          { title: 'Event', cell: (t) => h('span', { class: 'mono' }, t.event.type) },
        ],
        detail.timers,
        { empty: 'No pending timers.' },
      ),
    );
  }
  const loadSoon = coalesce(load, 150);

  load();
  return {
    onJournal(entries) {
      const mine = entries.filter((e) => e.flow_id === flowId);
      if (!mine.length) return;
      const last = mine[mine.length - 1];
      // The badge and the chart move at once; the rest follows with the reload.
      showState({ seq: last.seq, state: last.state, status: last.status, needsOperator: last.needs_operator });
      loadSoon();
    },
    onReady: load,
    unmount() {
      disposed = true;
      loadSoon.cancel();
    },
  };
}
