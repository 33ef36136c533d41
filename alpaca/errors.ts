/** A failed call to Alpaca. `retryable` is true for network errors, timeouts, 408, 429 and 5xx. */
export class AlpacaApiError extends Error {
  constructor(
    message: string,
    readonly status: number, // 0 for network errors and timeouts
    readonly alpacaCode?: number,
  ) {
    super(message);
    this.name = 'AlpacaApiError';
  }

  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}
