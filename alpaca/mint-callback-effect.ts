import type { EffectAdapter } from '../runtime/effect-adapter';
import { PermanentEffectError } from '../runtime/effect-adapter';
import type { MintEvent, NotifyAlpacaParams } from '../machines/mint';
import type { AlpacaClient } from './client';
import { AlpacaApiError } from './errors';

/**
 * Tells Alpaca a mint is on chain. Network errors, timeouts, 408, 429 and 5xx are retried by the
 * outbox; any other 4xx, an unexpected 2xx body or a request we refuse to send is final (code
 * `alpaca_<status>`, `alpaca_invalid_response` or `alpaca_invalid_request`). The outbox row id is
 * sent as the Idempotency-Key, the same on every retry of the row.
 */
export function mintCallbackEffect(client: AlpacaClient, retry: { baseMs: number; capMs: number; maxAttempts: number }): EffectAdapter<NotifyAlpacaParams, MintEvent> {
  return {
    retry,
    async run(params, ctx) {
      try {
        await client.mintCallback(params, { idempotencyKey: ctx.effectId });
      } catch (err) {
        if (err instanceof AlpacaApiError && !err.retryable) throw new PermanentEffectError(err.message, errorCode(err));
        throw err;
      }
      return { type: 'CALLBACK_ACKNOWLEDGED' };
    },
    failed: (error) => ({ type: 'CALLBACK_FAILED', code: error instanceof PermanentEffectError ? error.code : 'alpaca_unavailable', message: error.message.slice(0, 300) }),
  };
}

function errorCode(err: AlpacaApiError): string {
  if (err.kind === 'invalid_response' || err.kind === 'invalid_request') return `alpaca_${err.kind}`;
  return `alpaca_${err.status}`;
}
