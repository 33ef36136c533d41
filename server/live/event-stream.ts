import type { ServerResponse } from 'node:http';

export interface EventStreamOptions {
  /** A comment line is sent after this much silence, so proxies and the browser keep the connection. */
  heartbeatMs: number;
  /** A client that lets more than this pile up unread is cut off (it reconnects and reloads). */
  maxBufferedBytes: number;
  /** True once the service is stopping: the stream ends so the graceful stop does not wait on it. */
  closing: () => boolean;
  /** Called once, however the stream ends. */
  onEnd: (reason: EndReason) => void;
}

export type EndReason = 'client_closed' | 'service_closing' | 'slow_consumer' | 'failed';

/** How often the stream looks at the clock and at the service; heartbeats and the stop are noticed within it. */
const TICK_MS = 200;

/**
 * One server-sent-events response (`text/event-stream`) written straight to the socket: Koa has
 * already handed it over (`ctx.respond = false`). The caller has set the status and headers.
 */
export class EventStream {
  private lastWrite = Date.now();
  private ended = false;
  private readonly ticker: NodeJS.Timeout;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: EventStreamOptions,
  ) {
    res.socket?.setNoDelay(true);
    res.flushHeaders();
    res.on('close', () => this.finish('client_closed'));
    this.ticker = setInterval(() => this.tick(), Math.min(TICK_MS, options.heartbeatMs));
    this.ticker.unref();
  }

  get open(): boolean {
    return !this.ended;
  }

  /** One event: `event:` name, optional `id:`, and the data as one JSON line. */
  send(event: string, data: unknown, id?: string | number): void {
    const lines = [`event: ${event}`];
    if (id !== undefined) lines.push(`id: ${id}`);
    lines.push(`data: ${JSON.stringify(data)}`);
    this.write(`${lines.join('\n')}\n\n`);
  }

  /** A comment line: ignored by SSE parsers, it keeps the connection busy. */
  comment(text: string): void {
    this.write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
  }

  /** Ends the response; the client sees the stream close and may reconnect. */
  end(reason: EndReason): void {
    if (this.ended) return;
    // A client that does not read would never take a polite end either.
    if (reason === 'slow_consumer') this.res.destroy();
    else this.res.end();
    this.finish(reason);
  }

  private write(chunk: string): void {
    if (this.ended) return;
    if (this.res.writableLength > this.options.maxBufferedBytes) {
      this.end('slow_consumer');
      return;
    }
    this.res.write(chunk);
    this.lastWrite = Date.now();
  }

  private tick(): void {
    if (this.options.closing()) this.end('service_closing');
    else if (Date.now() - this.lastWrite >= this.options.heartbeatMs) this.comment('heartbeat');
  }

  private finish(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.ticker);
    this.options.onEnd(reason);
  }
}
