import type { ZodType } from 'zod';

/** Parses an input once at the edge; a failure throws a ZodError the error handler turns into a 400. */
export function parse<T>(schema: ZodType<T>, value: unknown): T {
  return schema.parse(value);
}
