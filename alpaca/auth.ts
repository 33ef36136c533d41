/** Headers that authenticate us to Alpaca's Broker API. */
export interface AlpacaAuthProvider {
  headers(): Promise<Record<string, string>>;
}

/** HTTP Basic with the API key id and secret (what the Broker API reference declares). */
export class BasicAuth implements AlpacaAuthProvider {
  private readonly value: string;
  constructor(keyId: string, secret: string) {
    this.value = `Basic ${Buffer.from(`${keyId}:${secret}`).toString('base64')}`;
  }
  async headers(): Promise<Record<string, string>> {
    return { authorization: this.value };
  }
}

/**
 * OAuth2 client credentials (client_secret_post): tokens live 15 minutes; one is fetched at a time and
 * reused until a minute before it expires.
 */
export class ClientCredentialsAuth implements AlpacaAuthProvider {
  private token: { value: string; expiresAt: number } | undefined;
  private inflight: Promise<string> | undefined;

  constructor(
    private readonly tokenUrl: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly now: () => number = Date.now,
  ) {}

  async headers(): Promise<Record<string, string>> {
    if (this.token && this.token.expiresAt - 60_000 > this.now()) return { authorization: `Bearer ${this.token.value}` };
    this.inflight ??= this.fetchToken().finally(() => (this.inflight = undefined));
    return { authorization: `Bearer ${await this.inflight}` };
  }

  private async fetchToken(): Promise<string> {
    const res = await fetch(this.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.clientSecret }).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`OAuth token request failed with ${res.status}`);
    const body = (await res.json()) as { access_token: string; expires_in: number };
    this.token = { value: body.access_token, expiresAt: this.now() + body.expires_in * 1000 };
    return body.access_token;
  }
}
