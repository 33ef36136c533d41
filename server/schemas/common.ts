import { z } from 'zod';

/** A positive decimal string with at most 9 decimal places: no sign, exponent, spaces or leading dot. */
export const quantity = z
  .string()
  .max(40)
  .regex(/^(0|[1-9]\d{0,29})(\.\d{1,9})?$/, 'must be a positive decimal string with at most 9 decimal places')
  .refine((q) => /[1-9]/.test(q), 'must be greater than zero');

export const symbol = z.string().min(1).max(40).regex(/^[A-Za-z0-9.\-_]+$/, 'must be a ticker symbol');
export const network = z.string().min(1).max(40).regex(/^[a-z0-9_-]+$/, 'must be a lower-case network name');
export const email = z.string().max(320).email();
export const shortText = z.string().min(1).max(200);
export const idString = z.string().min(1).max(100).regex(/^[A-Za-z0-9._:-]+$/, 'must be an identifier');
