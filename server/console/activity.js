// The side panel: the latest journal entries as the stream delivers them, newest first.

import { flowLink, h, stateBadge, time } from './dom.js';

const KEEP = 80;

/** Flows link to their page; registry entities (asset:…, ap:…, effect:…) are named only. */
function subject(entry) {
  return entry.state === null ? h('span', { class: 'mono entity' }, entry.flow_id) : flowLink(entry.flow_id);
}

export function showActivity(list, entries) {
  for (const e of entries) {
    const item = h(
      'li',
      { class: 'activity-item', 'data-flow-id': e.flow_id, 'data-seq': e.seq, 'data-state': e.state ?? '', 'data-type': e.type },
      h('div', { class: 'activity-head' }, time(e.recorded_at), h('span', { class: 'activity-event mono' }, e.type)),
      h('div', { class: 'activity-subject' }, subject(e)),
      e.state !== null
        ? h('div', { class: 'activity-state' }, '→ ', stateBadge(e.state, { status: e.status, needsOperator: e.needs_operator }), e.operator ? h('span', { class: 'muted' }, ` by ${e.operator}`) : null)
        : e.operator
          ? h('div', { class: 'activity-state muted' }, `by ${e.operator}`)
          : null,
    );
    list.prepend(item);
    item.classList.add('fresh');
  }
  while (list.children.length > KEEP) list.lastElementChild.remove();
}
