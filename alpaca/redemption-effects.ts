import type { EffectAdapter, MachineEffectAdapters } from '../runtime/effect-adapter';
import { PermanentEffectError } from '../runtime/effect-adapter';
import type { PollRedemptionParams, RedemptionEvent, redemptionMachine, RequestRedemptionParams } from '../machines/redemption';
import type { AlpacaClient } from './client';
import { AlpacaApiError } from './errors';

/** The redemption's Alpaca effects: ask Alpaca to redeem, then look at the request until it settles. */
export function redemptionAlpacaEffects(
  client: AlpacaClient,
  retry: { baseMs: number; capMs: number; maxAttempts: number },
): MachineEffectAdapters<typeof redemptionMachine, 'requestRedemption' | 'pollRedemption'> {
  /**
   * The redeem call. The issuer request id and Idempotency-Key are stable for this attempt, so a retry
   * after a lost answer replays the original; before each retry the request is looked up by issuer id.
   */
  const requestRedemption: EffectAdapter<RequestRedemptionParams, RedemptionEvent> = {
    retry,
    async run(p, ctx) {
      if (ctx.attempt > 1) {
        const existing = await client.getRequestByIssuerRequestId(p.issuerRequestId);
        if (existing) return { type: 'REDEEM_ACCEPTED', tokenizationRequestId: existing.tokenization_request_id, status: existing.status };
      }
      try {
        const created = await client.redeem(
          { issuer_request_id: p.issuerRequestId, underlying_symbol: p.underlying_symbol, token_symbol: p.token_symbol, qty: p.qty, network: p.network, wallet_address: p.wallet_address, tx_hash: p.tx_hash, ...p.clientRef },
          { idempotencyKey: p.idempotencyKey },
        );
        return { type: 'REDEEM_ACCEPTED', tokenizationRequestId: created.tokenization_request_id, status: created.status };
      } catch (err) {
        if (err instanceof AlpacaApiError && !err.retryable) throw new PermanentEffectError(err.message, err.status ? `alpaca_${err.status}` : `alpaca_${err.kind}`);
        throw err;
      }
    },
    failed: (error) =>
      error instanceof PermanentEffectError
        ? { type: 'REDEEM_REJECTED', code: error.code, message: error.message.slice(0, 300) }
        : { type: 'REDEEM_FAILED', code: 'alpaca_unavailable', message: error.message.slice(0, 300) },
  };

  /** One look at the request; `pending` comes back as ALPACA_PENDING and the machine's timer paces the next look. */
  const pollRedemption: EffectAdapter<PollRedemptionParams, RedemptionEvent> = {
    retry,
    async run(p) {
      const request = (await client.getRequest(p.tokenizationRequestId)) ?? (await client.getRequestByIssuerRequestId(p.issuerRequestId));
      if (!request) return { type: 'ALPACA_PENDING' };
      if (request.status === 'completed') return { type: 'ALPACA_COMPLETED' };
      if (request.status === 'rejected') return { type: 'ALPACA_REJECTED' };
      return { type: 'ALPACA_PENDING' };
    },
    // Lookups failing for the whole budget: keep waiting (the overall deadline decides), never burn.
    failed: () => ({ type: 'ALPACA_PENDING' }),
  };

  return { requestRedemption, pollRedemption };
}

