import { createHash, timingSafeEqual } from 'node:crypto';

/** Header Alpaca uses for the shared-secret scheme (Tokenization Guide for Issuer, "Option 1: API key"). */
export const API_KEY_HEADER = 'x-api-key';

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Constant-time string comparison. Both sides are hashed to SHA-256 first, so the comparison
 * always runs over 32 bytes and neither the length nor a common prefix of the secret leaks
 * through timing.
 */
export function constantTimeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}

/**
 * True when `presented` (the raw `X-API-KEY` header value) equals the configured secret.
 * A missing/empty header, or an empty configured secret, never matches.
 */
export function apiKeyMatches(presented: string | readonly string[] | undefined, expected: string): boolean {
  if (typeof presented !== 'string' || presented.length === 0 || expected.length === 0) return false;
  return constantTimeEqual(presented, expected);
}
