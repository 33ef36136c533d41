import { z } from 'zod';
import type { AlpacaAuthProvider } from './auth';
import { AlpacaApiError } from './errors';

/** Alpaca's tokenization request object. Enums are plain strings: a new network or issuer is data. */
export const tokenizationRequest = z
  .object({
    tokenization_request_id: z.string(),
    issuer_request_id: z.string().nullish(),
    type: z.string(),
    status: z.string(),
    underlying_symbol: z.string(),
    token_symbol: z.string(),
    qty: z.string(),
    network: z.string(),
    wallet_address: z.string(),
    tx_hash: z.string().nullish(),
    created_at: z.string(),
    updated_at: z.string().nullish(),
    issuer: z.string().nullish(),
    fees: z.string().nullish(),
    client_external_account_id: z.string().nullish(),
    client_account_id: z.string().nullish(),
  })
  .passthrough();
export type TokenizationRequest = z.infer<typeof tokenizationRequest>;

export type ClientRef = { client_external_account_id: string } | { client_account_id: string };

export interface MintCallbackBody {
  tokenization_request_id: string;
  tx_hash: string;
  wallet_address: string;
  network: string;
  client_external_account_id?: string;
  client_account_id?: string;
}

export interface RedeemBody {
  issuer_request_id: string;
  underlying_symbol: string;
  token_symbol: string;
  qty: string;
  network: string;
  wallet_address: string;
  tx_hash: string;
  client_external_account_id?: string;
  client_account_id?: string;
}

export interface AlpacaClientOptions {
  baseUrl: string;
  /** The issuer's tokenization account id. */
  accountId: string;
  auth: AlpacaAuthProvider;
  timeoutMs: number;
}

/**
 * The Broker API calls the issuer makes. One HTTP attempt per call: retries (with backoff and a budget)
 * belong to the outbox runner that calls this, so a crash never loses count of them.
 */
export class AlpacaClient {
  constructor(private readonly options: AlpacaClientOptions) {}

  private get base(): string {
    return `${this.options.baseUrl.replace(/\/$/, '')}/v1/accounts/${encodeURIComponent(this.options.accountId)}/tokenization`;
  }

  mintCallback(body: MintCallbackBody): Promise<TokenizationRequest> {
    return this.call('POST', '/callback/mint', body).then((r) => tokenizationRequest.parse(r));
  }

  redeem(body: RedeemBody, idempotencyKey: string): Promise<TokenizationRequest> {
    return this.call('POST', '/callback/redeem', body, { 'Idempotency-Key': idempotencyKey }).then((r) => tokenizationRequest.parse(r));
  }

  async getRequest(tokenizationRequestId: string): Promise<TokenizationRequest | null> {
    return this.orNull(this.call('GET', `/requests/${encodeURIComponent(tokenizationRequestId)}`));
  }

  async getRequestByIssuerRequestId(issuerRequestId: string): Promise<TokenizationRequest | null> {
    return this.orNull(this.call('GET', `/requests:by_issuer_request_id?issuer_request_id=${encodeURIComponent(issuerRequestId)}`));
  }

  private async orNull(p: Promise<unknown>): Promise<TokenizationRequest | null> {
    try {
      return tokenizationRequest.parse(await p);
    } catch (err) {
      if (err instanceof AlpacaApiError && err.status === 404) return null;
      throw err;
    }
  }

  private async call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json', ...(await this.options.auth.headers()), ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (err) {
      const name = (err as Error).name;
      throw new AlpacaApiError(name === 'TimeoutError' || name === 'AbortError' ? `Alpaca ${method} ${path.split('?')[0]} timed out` : `Alpaca ${method} ${path.split('?')[0]} unreachable`, 0);
    }
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const message = typeof json?.message === 'string' ? json.message.slice(0, 200) : res.statusText;
      throw new AlpacaApiError(`Alpaca ${method} ${path.split('?')[0]} answered ${res.status}: ${message}`, res.status, typeof json?.code === 'number' ? json.code : undefined);
    }
    return json;
  }
}
