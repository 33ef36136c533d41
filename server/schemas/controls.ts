import { z } from 'zod';
import type { AssetLimits } from '../../persistence/controls/projection';

/** A limit: a quantity of the underlying (at most 9 decimal places; 0 allowed), or null for none. */
export const limitValue = z.union([
  z
    .string()
    .max(40)
    .regex(/^(0|[1-9]\d{0,29})(\.\d{1,9})?$/, 'must be a decimal string with at most 9 decimal places, or null for no limit'),
  z.null(),
]);

const limitFields = {
  max_request_qty: limitValue,
  daily_mint_cap: limitValue,
  daily_redemption_cap: limitValue,
  approval_threshold: limitValue,
};

/** PUT: every limit of the asset, each a quantity or null. */
export const replaceLimitsBody = z.object(limitFields).strict();

/** PATCH: the limits to change; at least one. */
export const changeLimitsBody = z
  .object({
    max_request_qty: limitValue.optional(),
    daily_mint_cap: limitValue.optional(),
    daily_redemption_cap: limitValue.optional(),
    approval_threshold: limitValue.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');

export const pauseBody = z.object({ reason: z.string().min(1).max(500) }).strict();
export const resumeBody = z.object({ note: z.string().min(1).max(1000).optional() }).strict();

export function limitsFromBody(b: z.output<typeof changeLimitsBody>): Partial<AssetLimits> {
  return { maxRequestQty: b.max_request_qty, dailyMintCap: b.daily_mint_cap, dailyRedemptionCap: b.daily_redemption_cap, approvalThreshold: b.approval_threshold };
}
