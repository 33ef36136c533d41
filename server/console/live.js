// The journal stream (GET /operator/stream, server-sent events). EventSource cannot send an
// Authorization header, so the stream is read with fetch() and parsed here.

import { authHeaders } from './api.js';

const RETRY_MS = [1000, 2000, 5000, 10000];

/**
 * Keeps one stream open while signed in, reconnecting with backoff. `onEntries` gets journal
 * entries in batches; `onReady` fires on every (re)connection, when views should reload what they
 * show (anything committed while disconnected is in the API, not in the stream).
 */
export function connectLive({ onEntries, onReady, onStatus, onUnauthorized }) {
  let stopped = false;
  let controller;
  let attempt = 0;
  let pending = [];
  let flushTimer;

  const deliver = (entry) => {
    pending.push(entry);
    // One batch per short interval: a burst of commits repaints once.
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      const batch = pending;
      pending = [];
      onEntries(batch);
    }, 50);
  };

  async function runOnce() {
    controller = new AbortController();
    const res = await fetch('/operator/stream', { headers: authHeaders({ Accept: 'text/event-stream' }), signal: controller.signal, cache: 'no-store', credentials: 'omit' });
    if (res.status === 401) {
      stopped = true;
      onUnauthorized();
      return;
    }
    if (!res.ok || !res.body) throw new Error(`the stream answered ${res.status}`);
    let silenceLimit = 45_000;
    let watchdog;
    // A connection that went quiet past two heartbeats is dead even if no error says so.
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), silenceLimit);
    };
    arm();
    try {
      await readEvents(res.body, {
        onActivity: arm,
        onEvent: (event, data) => {
          if (event === 'ready') {
            attempt = 0;
            silenceLimit = Math.max(10_000, 2 * (data.heartbeat_ms ?? 15_000) + 5_000);
            arm();
            onStatus('live');
            onReady(data);
          } else if (event === 'journal') {
            deliver(data);
          }
        },
      });
    } finally {
      clearTimeout(watchdog);
    }
  }

  (async () => {
    while (!stopped) {
      onStatus(attempt === 0 ? 'connecting' : 'reconnecting');
      try {
        await runOnce();
      } catch {
        // reconnect below
      }
      if (stopped) break;
      onStatus('reconnecting');
      await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]));
    }
    onStatus('offline');
  })();

  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}

/** Parses `text/event-stream` (event, data, id fields; comment lines count as activity only). */
async function readEvents(body, { onEvent, onActivity }) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onActivity();
    buffer += value;
    let end;
    while ((end = buffer.search(/\r\n\r\n|\n\n|\r\r/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith('\r\n\r\n', end) ? 4 : 2));
      let event = 'message';
      const data = [];
      for (const line of block.split(/\r\n|\n|\r/)) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = val;
        else if (field === 'data') data.push(val);
      }
      if (!data.length) continue;
      try {
        onEvent(event, JSON.parse(data.join('\n')));
      } catch {
        // a malformed event is skipped, the stream goes on
      }
    }
  }
}
