import type { EffectAdapter } from '../machines/host/effect-adapter';
import { PermanentEffectError } from '../machines/host/effect-adapter';
import type { NotifyAlpacaParams } from '../machines/mint';
import type { AlpacaClient } from './client';
import { AlpacaApiError } from './errors';

/** Tells Alpaca a mint is on chain. 5xx and timeouts are retried by the outbox; other 4xx are final. */
export function mintCallbackEffect(client: AlpacaClient, retry: { baseMs: number; capMs: number; maxAttempts: number }): EffectAdapter<NotifyAlpacaParams> {
  return {
    retry,
    async run(params) {
      try {
        await client.mintCallback(params);
      } catch (err) {
        if (err instanceof AlpacaApiError && !err.retryable) throw new PermanentEffectError(err.message, `alpaca_${err.status}`);
        throw err;
      }
      return { type: 'CALLBACK_ACKNOWLEDGED' };
    },
    failed: (error) => ({ type: 'CALLBACK_FAILED', code: error instanceof PermanentEffectError ? error.code : 'alpaca_unavailable', message: error.message.slice(0, 300) }),
  };
}
