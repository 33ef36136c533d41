import { z } from 'zod';
import { email, idString, network, shortText, symbol } from './common';

export const wallet = z.object({ network, address: z.string().min(1).max(100) }).strict();

export const registerApBody = z.object({ email, name: shortText.optional(), wallets: z.array(wallet).max(100).default([]) }).strict();
export const replaceWalletsBody = z.object({ wallets: z.array(wallet).max(100) }).strict();

/** Alpaca's account link: current field `client_account_number`, legacy `account`. Unknown fields are ignored (Alpaca adds fields). */
export const connectBody = z
  .object({ email, client_account_number: idString.optional(), account: idString.optional() })
  .refine((b) => (b.client_account_number === undefined) !== (b.account === undefined), {
    message: 'exactly one of client_account_number or account is required',
    path: ['client_account_number'],
  })
  .transform((b) => ({ email: b.email, clientAccountNumber: (b.client_account_number ?? b.account)! }));

export const addAssetBody = z
  .object({
    underlying_symbol: symbol,
    token_symbol: symbol,
    network,
    vault_address: z.string().min(1).max(100),
    decimals: z.number().int().min(0).max(36).default(18),
    enabled: z.boolean().default(true),
  })
  .strict();

export const updateAssetBody = z
  .object({ underlying_symbol: symbol.optional(), token_symbol: symbol.optional(), vault_address: z.string().min(1).max(100).optional(), decimals: z.number().int().min(0).max(36).optional() })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to update');

export const haltBody = z.object({ reason: z.string().min(1).max(500) }).strict();
