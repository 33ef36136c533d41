import type { Logger } from 'pino';
import { toStudioConfig } from './studio/studio';
import type { CommittedTransition, FlowHost } from './flow-host';

/**
 * Streams every committed transition to the Stately inspector over WebSocket (`STATELY_INSPECT_URL`):
 * each flow appears as an actor with its machine definition, then its events and snapshots. Flows run
 * through the pure `transition()`, so the host reports them itself instead of an actor's `inspect` hook.
 * Off unless configured; it only observes (a lost inspector connection never touches a flow).
 *
 * What leaves the process is bounded twice: the URL must point at this machine (the bridge of
 * `npm run inspect` listens on loopback only) unless `STATELY_INSPECT_ALLOW_REMOTE=1` says otherwise,
 * and every context and event goes through `sanitizeForInspection` first.
 */

export interface LiveInspectionOptions {
  /** Stream to a host other than this machine's loopback; off unless asked for explicitly. */
  allowRemote?: boolean;
}

export interface LiveInspection {
  /** False when the URL was refused: nothing is streamed. */
  readonly streaming: boolean;
  stop(): void;
}

export async function startLiveInspection(
  host: Pick<FlowHost, 'onTransition'>,
  url: string,
  log: Logger,
  options: LiveInspectionOptions = { allowRemote: false },
): Promise<LiveInspection> {
  const verdict = checkInspectUrl(url, options.allowRemote === true);
  if (!verdict.ok) {
    log.warn({ url: verdict.shownUrl }, `live inspection refused: ${verdict.reason}`);
    return { streaming: false, stop: () => undefined };
  }
  if (verdict.remote) log.warn({ url: verdict.shownUrl }, 'live inspection streams flows to another host (STATELY_INSPECT_ALLOW_REMOTE=1)');

  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const inspector = createWebSocketInspector({ url, maxDeferredEvents: 1000 });
  const announced = new Set<string>();
  host.onTransition((t: CommittedTransition) => {
    const snapshot = sanitizeForInspection({ status: t.flow.snapshot.status, value: t.flow.snapshot.value, context: t.flow.snapshot.context }) as any;
    const event = sanitizeForInspection(t.event) as any;
    if (!announced.has(t.flowId)) {
      announced.add(t.flowId);
      // The inspector reads the machine config from `logic.config` of the actor it is given: the
      // Studio form, where built-in actions keep their names instead of turning into nulls.
      const actorLike = { sessionId: t.flowId, id: t.flowId, logic: { config: studioConfigOf(t) } } as any;
      inspector.actor(actorLike, snapshot);
    }
    inspector.event(t.flowId, event);
    inspector.snapshot(t.flowId, snapshot, { event });
  });
  log.info({ url: verdict.shownUrl }, 'live inspection: streaming flows to the Stately inspector');
  return { streaming: true, stop: () => inspector.stop() };
}

function studioConfigOf(t: CommittedTransition): object {
  try {
    return toStudioConfig(t.definition.machine);
  } catch {
    return { id: t.definition.machine.id };
  }
}

export type InspectUrlVerdict =
  | { ok: true; remote: boolean; shownUrl: string }
  | { ok: false; reason: string; shownUrl: string };

/** Whether flows may be streamed to `url`: a ws(s) URL on loopback, or anywhere when explicitly allowed. */
export function checkInspectUrl(url: string, allowRemote: boolean): InspectUrlVerdict {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'STATELY_INSPECT_URL is not a URL', shownUrl: '<invalid>' };
  }
  // Credentials in the URL are never logged.
  parsed.username = '';
  parsed.password = '';
  const shownUrl = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') return { ok: false, reason: 'STATELY_INSPECT_URL must be a ws:// or wss:// URL', shownUrl };
  const remote = !isLoopbackHost(parsed.hostname);
  if (remote && !allowRemote) {
    return { ok: false, reason: `${parsed.hostname} is not this machine's loopback (127.0.0.1, ::1, localhost); set STATELY_INSPECT_ALLOW_REMOTE=1 to stream flows elsewhere`, shownUrl };
  }
  return { ok: true, remote, shownUrl };
}

/** localhost, 127.0.0.0/8 or ::1 (as `URL.hostname` spells them). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return v4 !== null && v4.slice(1).every((o) => Number(o) <= 255) && v4[1] === '127';
}

// ── Sanitizing what is streamed ──────────────────────────────────────────────────────────────────

export const REDACTED = '[redacted]';

/**
 * Field names that hold credentials or signing material, compared without case, `_` or `-`. The
 * flows' own contexts carry none today (addresses, hashes, amounts, request ids); this is what keeps
 * it so if a field like that is ever added to a context or an event. Domain names that merely contain
 * "token" (`tokenSymbol`, `tokenizationRequestId`) are not credentials and stay visible.
 */
const SECRET_NAME = /passw(or)?d|passphrase|secret|privatekey|signingkey|apikey|accesskey|authorization|bearer|credential|cookie|mnemonic|seedphrase|signature|keystore|ciphertext|(raw|signed|serialized)(tx|transaction)/;
/** Any name ending in token(s) (`accessToken`, `operatorToken`): a credential more often than not. */
const TOKEN_NAME = /tokens?$/;
const SECRET_EXACT = new Set(['key', 'pwd', 'pass', 'auth', 'sig', 'privkey', 'pk']);

export function isSecretName(name: string): boolean {
  const n = name.toLowerCase().replace(/[_-]/g, '');
  return SECRET_NAME.test(n) || TOKEN_NAME.test(n) || SECRET_EXACT.has(n);
}

/** Values that are credentials whatever their field is called. */
function isSecretValue(value: string): boolean {
  return (
    /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value) ||
    /^(bearer|basic)\s+\S/i.test(value) ||
    // A signed transaction or a signature: far longer than a hash (0x + 64) or an address (0x + 40).
    /^0x[0-9a-f]{130,}$/i.test(value) ||
    // A JWT (an OAuth access token).
    /^eyJ[\w-]+\.[\w-]+\.[\w-]*$/.test(value)
  );
}

/**
 * A copy of `value` fit to leave the process: secret-named fields and secret-looking strings are
 * replaced by `[redacted]`, URLs keep only their scheme and host, bigints become strings, functions
 * are dropped and a cycle is cut. Never mutates its input (the snapshot it is given is the stored flow's).
 */
export function sanitizeForInspection(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return isSecretValue(value) ? REDACTED : redactUrls(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > 20) return '[…]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => sanitizeForInspection(v, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (isSecretName(k)) out[k] = REDACTED;
      else {
        const clean = sanitizeForInspection(v, depth + 1, seen);
        if (clean !== undefined) out[k] = clean;
      }
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * A hosted RPC or API URL can carry a key in its user info, path or query (`…/v2/<key>`), so only
 * the scheme and host of a URL are shown.
 */
function redactUrls(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/@"'<>]*@)?([^\s/?#"'<>]+)([^\s"'<>]*)/gi, (_m, scheme: string, host: string, rest: string) =>
    rest && rest !== '/' ? `${scheme}${host}/[redacted]` : `${scheme}${host}${rest}`,
  );
}
