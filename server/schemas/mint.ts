import { z } from 'zod';
import { idString, network, quantity, symbol } from './common';

const clientIds = {
  client_external_account_id: idString.optional(),
  client_account_id: idString.optional(),
  /** Legacy name of client_external_account_id (seeds' path; sunset by Alpaca on 2026-10-15). */
  client_id: idString.optional(),
};

type ClientRef = { client_external_account_id: string } | { client_account_id: string };

function clientRef(b: { client_external_account_id?: string; client_account_id?: string; client_id?: string }): ClientRef | undefined {
  const given = [b.client_external_account_id, b.client_account_id, b.client_id].filter((v) => v !== undefined);
  if (given.length !== 1) return undefined;
  if (b.client_account_id !== undefined) return { client_account_id: b.client_account_id };
  return { client_external_account_id: (b.client_external_account_id ?? b.client_id)! };
}

/**
 * Alpaca's mint request. Current names, plus the legacy `id` (for tokenization_request_id) and
 * `client_id`. Exactly one client id. Unknown fields are ignored: Alpaca adds fields over time.
 */
export const mintRequestBody = z
  .object({
    tokenization_request_id: idString.optional(),
    id: idString.optional(),
    qty: quantity,
    underlying_symbol: symbol,
    token_symbol: symbol,
    network,
    wallet_address: z.string().min(1).max(100),
    ...clientIds,
  })
  .transform((b, ctx) => {
    const ref = clientRef(b);
    const tokenizationRequestId = b.tokenization_request_id ?? b.id;
    if (!ref) ctx.addIssue({ code: 'custom', message: 'exactly one of client_external_account_id, client_account_id (or legacy client_id) is required', path: ['client_external_account_id'] });
    if (!tokenizationRequestId || (b.tokenization_request_id && b.id && b.id !== b.tokenization_request_id)) {
      ctx.addIssue({ code: 'custom', message: 'tokenization_request_id is required', path: ['tokenization_request_id'] });
    }
    return { tokenizationRequestId: tokenizationRequestId!, qty: b.qty, underlyingSymbol: b.underlying_symbol, tokenSymbol: b.token_symbol, network: b.network, walletAddress: b.wallet_address, clientRef: ref! };
  });
export type MintRequest = z.output<typeof mintRequestBody>;

/** Alpaca's journal confirmation ("mint transfer confirmation"). */
export const mintConfirmBody = z
  .object({
    tokenization_request_id: idString.optional(),
    id: idString.optional(),
    issuer_request_id: idString,
    status: z.enum(['completed', 'rejected']),
    client_request_id: z.string().max(200).optional(),
    ...clientIds,
  })
  .transform((b, ctx) => {
    const tokenizationRequestId = b.tokenization_request_id ?? b.id;
    if (!tokenizationRequestId) ctx.addIssue({ code: 'custom', message: 'tokenization_request_id is required', path: ['tokenization_request_id'] });
    return { tokenizationRequestId: tokenizationRequestId!, issuerRequestId: b.issuer_request_id, status: b.status, clientRef: clientRef(b) };
  });
