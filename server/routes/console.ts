import path from 'node:path';
import Router, { type RouterContext } from '@koa/router';
import type { Database } from '../../persistence/database';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DomainError } from '../../core/errors';
import type { FlowHost } from '../../runtime/flow-host';
import type { OperatorIdentity } from '../auth/operator-auth';
import { EventStream } from '../live/event-stream';
import { JournalTail, type JournalTailOptions } from '../live/journal-tail';
import { type StaticFile, StaticFiles } from '../live/static-files';
import { parse } from '../validate';

/** The console's page, scripts and styles: plain files, no build step. */
export const CONSOLE_DIR = path.join(__dirname, '..', 'console');
/** The state charts `npm run diagrams` writes; the console draws a flow's state on them. */
export const CHARTS_DIR = path.join(__dirname, '..', '..', 'docs', 'machines');

/**
 * The console page's own policy, stricter than the app-wide one: its scripts, styles and API calls
 * come from this origin only, nothing inline, no framing, no form posts (the token form is handled
 * by script; should the script not load, the browser still must not send the token anywhere), and
 * the one HTML sink (the chart SVG) goes through a named Trusted Types policy.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  'trusted-types console-svg',
].join('; ');

/** `GET /console` and its files: public (the page holds no data; it asks for the operator token). */
export function consoleRoutes(dir = CONSOLE_DIR): Router {
  const files = new StaticFiles(dir);
  const router = new Router();
  router.get('/console', (ctx) => serveConsoleFile(ctx, files, 'index.html'));
  router.get('/console/:file', (ctx) => serveConsoleFile(ctx, files, ctx.params.file!));
  return router;
}

async function serveConsoleFile(ctx: RouterContext, files: StaticFiles, name: string): Promise<void> {
  const file = await files.get(name);
  if (!file) throw new DomainError('file_not_found', 'The console has no such file');
  if (file.contentType.startsWith('text/html')) ctx.set('Content-Security-Policy', CONSOLE_CSP);
  serve(ctx, file, 'no-cache');
}

/** Always revalidated (the files have no content hash in their names), answered 304 when unchanged. */
function serve(ctx: RouterContext, file: StaticFile, cacheControl: string): void {
  ctx.set('Cache-Control', cacheControl);
  ctx.set('ETag', file.etag);
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.type = file.contentType;
  ctx.body = file.body;
}

export interface LiveRouteOptions {
  /** Shared by every stream of this app; a test passes its own to watch subscriptions come and go. */
  tail?: JournalTail;
  tailOptions?: JournalTailOptions;
  heartbeatMs?: number;
  maxStreams?: number;
  maxStreamsPerOperator?: number;
  /** Unread bytes a stream may hold before its client is cut off. */
  maxBufferedBytes?: number;
  chartsDir?: string;
}

export interface LiveRouteDeps {
  db: Database;
  host: FlowHost;
  log?: Logger;
}

const noQuery = z.object({}).strict();

/**
 * Behind the operator gate: the journal as a live stream of server-sent events, and the machines'
 * state charts. A browser cannot put a bearer token on an EventSource, so the console reads the
 * stream with fetch(); any SSE client that can send the header works too.
 */
export function consoleOperatorRoutes(deps: LiveRouteDeps, options: LiveRouteOptions = {}): Router {
  const tail = options.tail ?? new JournalTail(deps.db, () => deps.host.allDefinitions(), options.tailOptions, deps.log);
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxStreams = options.maxStreams ?? 100;
  const maxPerOperator = options.maxStreamsPerOperator ?? 10;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const charts = new StaticFiles(options.chartsDir ?? CHARTS_DIR, ['.svg']);
  const openByOperator = new Map<string, number>();
  let open = 0;
  const router = new Router({ prefix: '/operator' });

  /**
   * `event: ready` once subscribed (with the journal position it starts after), then one
   * `event: journal` per committed entry (`id:` is its position), and a comment line after each
   * `heartbeatMs` of silence. Ends when the client goes, or when the service stops.
   */
  router.get('/stream', async (ctx) => {
    parse(noQuery, ctx.query);
    const operator = (ctx.state.operator as OperatorIdentity | undefined)?.id ?? 'operator';
    if (open >= maxStreams || (openByOperator.get(operator) ?? 0) >= maxPerOperator) {
      throw new DomainError('too_many_streams', `Too many open journal streams (at most ${maxPerOperator} per operator, ${maxStreams} in all); close another console tab`);
    }
    ctx.status = 200;
    ctx.type = 'text/event-stream';
    ctx.set('Cache-Control', 'no-store');
    // Proxies (nginx) would otherwise hold events back to fill a buffer.
    ctx.set('X-Accel-Buffering', 'no');
    // The socket goes with the stream: a stopping service is not left with an idle keep-alive connection to wait on.
    ctx.set('Connection', 'close');
    if (ctx.method === 'HEAD') return;

    ctx.respond = false;
    open++;
    openByOperator.set(operator, (openByOperator.get(operator) ?? 0) + 1);
    const opened = Date.now();
    let sent = 0;
    let subscription: { close(): void } | undefined;
    const stream = new EventStream(ctx.res, {
      heartbeatMs,
      maxBufferedBytes,
      closing: () => serverStopped(ctx),
      onEnd: (reason) => {
        subscription?.close();
        open--;
        const left = (openByOperator.get(operator) ?? 1) - 1;
        if (left > 0) openByOperator.set(operator, left);
        else openByOperator.delete(operator);
        deps.log?.info({ operator, reason, events: sent, seconds: Math.round((Date.now() - opened) / 1000), requestId: ctx.state.requestId }, 'journal stream ended');
      },
    });
    stream.comment('issuance-bot journal stream');
    const sub = tail.subscribe((entries) => {
      for (const e of entries) {
        stream.send('journal', e, e.position);
        sent++;
      }
    });
    subscription = sub;
    if (!stream.open) sub.close();
    sub.ready.then(
      (position) => stream.send('ready', { position, heartbeat_ms: heartbeatMs }),
      (err) => {
        deps.log?.warn({ err: (err as Error).message }, 'journal stream could not start');
        stream.end('failed');
      },
    );
    deps.log?.info({ operator, requestId: ctx.state.requestId }, 'journal stream opened');
  });

  /** `docs/machines/<flowType>.svg`: Graphviz SVG, one `<g class="node"><title><flowType>.<state></title>` per state. */
  router.get('/charts/:flowType', async (ctx) => {
    const flowType = ctx.params.flowType!;
    const file = /^[a-z][a-zA-Z0-9_-]{0,39}$/.test(flowType) ? await charts.get(`${flowType}.svg`) : undefined;
    if (!file) throw new DomainError('chart_not_found', 'No state chart for this flow type');
    serve(ctx, file, 'private, no-cache');
  });

  return router;
}

/**
 * http.Server#close stops listening at once but waits for open connections; a stream would hold it
 * until the shutdown bound. Each stream watches its server and ends itself when it stops listening.
 */
function serverStopped(ctx: RouterContext): boolean {
  const server = (ctx.req.socket as { server?: { listening?: boolean } }).server;
  return server !== undefined && server.listening === false;
}
