// The console's entry: sign-in, the hash router between views, the live journal, and the
// reconciliation alert banner.

import { ApiError, getJson, onUnauthorized, session } from './api.js';
import { showActivity } from './activity.js';
import { clear, h, replace } from './dom.js';
import { connectLive } from './live.js';
import { mountAssets } from './view-assets.js';
import { mountControls } from './view-controls.js';
import { mountFlow } from './view-flow.js';
import { mountFlows } from './view-flows.js';
import { mountReceipts } from './view-receipts.js';
import { RECONCILIATION_PATH, mountReconciliation } from './view-reconciliation.js';

const $ = (id) => document.getElementById(id);

let view;
let live;
let alertTimer;

/** `#/flows?type=mint` → the flows view with its filters; `#/flow/<id>` → one flow. */
function route() {
  const hash = location.hash.replace(/^#\/?/, '') || 'flows';
  const [path, search = ''] = hash.split('?');
  const [name, ...rest] = path.split('/');
  view?.unmount();
  const root = clear($('view'));
  if (name === 'flow' && rest.length) view = mountFlow(root, decodeURIComponent(rest.join('/')));
  else if (name === 'receipts') view = mountReceipts(root);
  else if (name === 'reconciliation') view = mountReconciliation(root);
  else if (name === 'assets') view = mountAssets(root);
  else if (name === 'controls') view = mountControls(root);
  else view = mountFlows(root, new URLSearchParams(search));
  const section = name === 'flow' ? 'flows' : name;
  for (const a of $('nav').querySelectorAll('a')) a.classList.toggle('active', a.dataset.view === section);
  document.title = `${name === 'flow' ? decodeURIComponent(rest.join('/')) : section} · issuance-bot console`;
}

function setLiveStatus(status) {
  const el = $('live');
  el.dataset.status = status;
  el.textContent = { live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…', offline: 'offline' }[status] ?? status;
}

/** Alerts show on every view, not only on the reconciliation page. */
async function refreshAlertBanner() {
  const banner = $('alert-banner');
  try {
    const report = await getJson(RECONCILIATION_PATH);
    const n = report.alerts?.length ?? 0;
    banner.hidden = n === 0;
    if (n) replace(banner, h('strong', {}, `${n} reconciliation alert${n === 1 ? '' : 's'}`), ' — ', h('a', { href: '#/reconciliation' }, 'see reconciliation'));
  } catch {
    // Not served by this instance, or not reachable now: no banner rather than a false alarm.
    banner.hidden = true;
  }
}

function showWorkspace() {
  $('login').hidden = true;
  $('workspace').hidden = false;
  $('nav').hidden = false;
  $('session').hidden = false;
  route();
  live = connectLive({
    onEntries: (entries) => {
      showActivity($('activity'), entries);
      view?.onJournal(entries);
    },
    onReady: () => view?.onReady(),
    onStatus: setLiveStatus,
    onUnauthorized: signOut,
  });
  refreshAlertBanner();
  // Reconciling reads the chain and Alpaca: every few minutes is enough for a banner.
  alertTimer = setInterval(refreshAlertBanner, 5 * 60_000);
}

/** Back to the sign-in form, with nothing of the last session left on screen. */
function signOut(message) {
  session.signOut();
  live?.stop();
  live = undefined;
  clearInterval(alertTimer);
  view?.unmount();
  view = undefined;
  clear($('view'));
  clear($('activity'));
  $('alert-banner').hidden = true;
  $('workspace').hidden = true;
  $('nav').hidden = true;
  $('session').hidden = true;
  $('login').hidden = false;
  const error = $('login-error');
  error.hidden = !message;
  error.textContent = message ?? '';
  $('token').value = '';
  $('token').focus();
}

async function signIn(event) {
  event.preventDefault();
  const token = $('token').value.trim();
  if (!token) return;
  session.signIn(token);
  try {
    await getJson('/operator/flows?limit=1');
  } catch (err) {
    signOut(err instanceof ApiError && err.status === 401 ? 'That token was refused.' : `The service did not answer: ${err.message}`);
    return;
  }
  $('token').value = '';
  showWorkspace();
}

function boot() {
  onUnauthorized(() => signOut('Your token was refused; sign in again.'));
  $('login-form').addEventListener('submit', signIn);
  $('logout').addEventListener('click', () => signOut());
  window.addEventListener('hashchange', () => session.token() && route());
  if (session.token()) showWorkspace();
  else signOut();
}

boot();
