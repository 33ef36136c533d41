// Building the page from data without HTML strings: text always goes in as text nodes, so nothing
// the API returns can become markup.

/** `h('td', { class: 'mono', onclick: fn }, 'text', child)`; null, false and undefined children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) {
      // Handlers are functions only: an attribute handler would be inline script (and refused by the page's policy).
      if (typeof value === 'function') el.addEventListener(key.slice(2), value);
    } else if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

/** `14:03:07` today, `Mar 4 14:03` otherwise; the full instant on hover. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  const text = today
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
  return h('time', { datetime: iso, title: iso }, text);
}

/** `3 min ago`, `2 h ago`. */
export function ago(iso) {
  if (!iso) return '—';
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A state as a coloured pill: red when a person is needed, green when done, blue while under way. */
export function stateBadge(state, { status, needsOperator } = {}) {
  const kind = needsOperator ? 'operator' : status && status !== 'active' ? 'final' : 'active';
  return h('span', { class: `badge state ${kind}`, 'data-state': state ?? '' }, state ?? '—');
}

export function flag(on, yes, no, kind = 'warn') {
  return on ? h('span', { class: `badge ${kind}` }, yes) : h('span', { class: 'badge ok' }, no);
}

/** `0x1234…abcd`, whole on hover. */
export function short(value, keep = 6) {
  if (typeof value !== 'string' || value.length <= keep * 2 + 1) return h('span', { class: 'mono short' }, value ?? '—');
  return h('span', { class: 'mono short', title: value }, `${value.slice(0, keep)}…${value.slice(-4)}`);
}

/** Token base units (a uint256 decimal string) as shares: `3500000000000000000`, 18 decimals → `3.5`. */
export function units(raw, decimals) {
  if (typeof raw !== 'string' || !/^[0-9]+$/.test(raw) || !Number.isInteger(decimals)) return h('span', { class: 'mono' }, raw ?? '—');
  const padded = raw.padStart(decimals + 1, '0');
  const whole = padded.slice(0, padded.length - decimals);
  const fraction = padded.slice(padded.length - decimals).replace(/0+$/, '');
  return h('span', { class: 'mono', title: `${raw} base units` }, fraction ? `${whole}.${fraction}` : whole);
}

export function flowLink(flowId) {
  return h('a', { href: `#/flow/${encodeURIComponent(flowId)}`, class: 'mono flow-link' }, flowId);
}

/** Any value the API returns whose shape the console does not know in advance. */
export function anyValue(value) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof value === 'boolean') return flag(value, 'yes', 'no', 'neutral');
  if (typeof value === 'object') return h('code', { class: 'json' }, JSON.stringify(value));
  return String(value);
}

/** A table from column definitions `{ title, cell(row), class? }`; `rowAttrs(row)` adds data attributes. */
export function table(columns, rows, { rowAttrs, empty = 'Nothing to show.', caption } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    { class: 'grid' },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.class, scope: 'col' }, c.title)))),
    h('tbody', {}, rows.map((row) => h('tr', rowAttrs ? rowAttrs(row) : {}, columns.map((c) => h('td', { class: c.class }, c.cell(row)))))),
  );
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

/** Shown in place of a panel whose endpoint this instance does not serve (yet). */
export function notAvailable(what, path) {
  return h('div', { class: 'not-available', 'data-not-available': path }, h('strong', {}, `${what}: not available`), h('span', {}, ` — this instance does not serve ${path}.`));
}

export function errorBox(err) {
  return h('p', { class: 'error' }, err?.message ?? String(err));
}

/** Calls `fn` once things have been quiet for `ms`. */
export function debounce(fn, ms) {
  let timer;
  const call = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  call.cancel = () => clearTimeout(timer);
  return call;
}

/**
 * Calls `fn` once, `ms` after the first of a burst of calls: a view keeps up with a busy journal
 * (a reload every `ms` at most) where waiting for quiet would never reload at all.
 */
export function coalesce(fn, ms) {
  let timer;
  const call = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
  };
  call.cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return call;
}

let noticeTimer;
/** A short message under the top bar (an action done, or refused). */
export function notice(text, kind = 'ok') {
  const el = document.getElementById('notice');
  el.className = `notice ${kind}`;
  el.textContent = text;
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    el.hidden = true;
  }, 6000);
}
