import fs from 'node:fs';
import { CliFailure, UsageError } from './errors';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
const TIMEOUT_MS = 30_000;
const DOWNLOAD_TIMEOUT_MS = 30 * 60_000;

/** Options every command that talks to a running instance takes. */
export interface RemoteOptions {
  url?: string;
  tokenFile?: string;
}

/**
 * Talks to a running instance's operator API. The token comes from `ISSUANCE_OPERATOR_TOKEN` or a
 * file, never from the command line (where shell history and `ps` would keep it), and is never printed.
 */
export class OperatorApi {
  private constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  static from(options: RemoteOptions, env: NodeJS.ProcessEnv = process.env, requireToken = true): OperatorApi {
    const raw = options.url ?? env.ISSUANCE_URL ?? DEFAULT_URL;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new UsageError(`--url is not a URL: ${raw}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be an http:// or https:// URL');
    const token = readToken(options, env);
    if (requireToken && token === undefined) throw new UsageError('no operator token: set ISSUANCE_OPERATOR_TOKEN or pass --token-file <file>');
    return new OperatorApi(url.origin + url.pathname.replace(/\/+$/, ''), token);
  }

  get hasToken(): boolean {
    return this.token !== undefined;
  }

  get<T = any>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.request<T>('GET', qs ? `${path}?${qs}` : path);
  }

  post<T = any>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  patch<T = any>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  /**
   * A GET whose body is streamed to `sink` as it arrives (an export may be larger than memory), with
   * a longer bound than other calls. Refusals throw as `get` does.
   */
  async download(path: string, query: Record<string, string | undefined>, sink: (chunk: Uint8Array) => Promise<void> | void): Promise<{ contentType: string }> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
    const qs = params.toString();
    const res = await this.fetch('GET', qs ? `${path}?${qs}` : path, undefined, true, DOWNLOAD_TIMEOUT_MS);
    if (!res.ok) {
      // The refusal is JSON like any other: let request() word it.
      return this.refuse(res);
    }
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await sink(value);
    }
    return { contentType: res.headers.get('content-type') ?? '' };
  }

  /** An unauthenticated call (health), answered with its status instead of throwing on 5xx. */
  async probe(path: string): Promise<{ status: number; body: any }> {
    const res = await this.fetch('GET', path, undefined, false);
    return { status: res.status, body: await res.json().catch(() => undefined) };
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(method, path, body, true);
    if (!res.ok) return this.refuse(res);
    const text = await res.text();
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      return undefined as T;
    }
  }

  /** Turns a refusal into the error the command reports (a 400 is the command line's fault). */
  private async refuse(res: Response): Promise<never> {
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    const code = typeof parsed?.code === 'string' ? parsed.code : 'http_error';
    const message = typeof parsed?.message === 'string' ? parsed.message : res.statusText;
    const detail = Array.isArray(parsed?.issues) && parsed.issues.length ? ` (${parsed.issues.map((i: any) => `${i.path || 'query'}: ${i.message}`).join('; ')})` : '';
    const line = `${res.status} ${code}: ${message}${detail}`;
    // The service refusing the input as invalid is the command line's fault, like a bad option.
    throw res.status === 400 ? new UsageError(line) : new ApiError(line, res.status, code, parsed);
  }

  private async fetch(method: string, path: string, body: unknown, authenticated: boolean, timeoutMs = TIMEOUT_MS): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (authenticated && this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliFailure(`cannot reach ${this.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
  }
}

/** A refusal from the service, with its stable code and body (the JSON output shows the body as is). */
export class ApiError extends CliFailure {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

function readToken(options: RemoteOptions, env: NodeJS.ProcessEnv): string | undefined {
  if (options.tokenFile !== undefined) {
    let token: string;
    try {
      token = fs.readFileSync(options.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`cannot read --token-file ${options.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (!token) throw new UsageError(`--token-file ${options.tokenFile} is empty`);
    return token;
  }
  const fromEnv = env.ISSUANCE_OPERATOR_TOKEN?.trim();
  return fromEnv ? fromEnv : undefined;
}

export const flowPath = (flowId: string) => `/operator/flows/${encodeURIComponent(flowId)}`;
