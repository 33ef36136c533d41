/**
 * RFC 9530 `Content-Digest` over the raw body bytes, e.g. `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`.
 *
 * The header is an RFC 8941 Dictionary whose keys are hash algorithm names and whose values are
 * Byte Sequences. We produce `sha-256` (what Alpaca sends) and accept `sha-256` and `sha-512`;
 * other algorithms are ignored, and at least one supported one must be present. Every supported
 * digest present must match.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseDictionary, isInnerList } from 'structured-headers';

export const CONTENT_DIGEST_HEADER = 'content-digest';

export type ContentDigestAlgorithm = 'sha-256' | 'sha-512';

const NODE_HASH: Readonly<Record<ContentDigestAlgorithm, string>> = {
  'sha-256': 'sha256',
  'sha-512': 'sha512',
};

function digest(body: Uint8Array, alg: ContentDigestAlgorithm): Buffer {
  return createHash(NODE_HASH[alg]).update(body).digest();
}

/** The `Content-Digest` header value for `body`. */
export function computeContentDigest(body: Uint8Array, alg: ContentDigestAlgorithm = 'sha-256'): string {
  return `${alg}=:${digest(body, alg).toString('base64')}:`;
}

export type ContentDigestCheck = { ok: true } | { ok: false; reason: string };

/** Verify a received `Content-Digest` header value against the raw body bytes. */
export function verifyContentDigest(headerValue: string | undefined, body: Uint8Array): ContentDigestCheck {
  if (headerValue === undefined || headerValue.trim() === '') {
    return { ok: false, reason: 'Content-Digest header is missing' };
  }
  let dict;
  try {
    dict = parseDictionary(headerValue);
  } catch {
    return { ok: false, reason: 'Content-Digest header is not a valid structured field' };
  }
  let checked = 0;
  for (const [alg, member] of dict) {
    if (alg !== 'sha-256' && alg !== 'sha-512') continue; // unknown algorithms are ignored (RFC 9530 §2)
    if (isInnerList(member) || !(member[0] instanceof ArrayBuffer)) {
      return { ok: false, reason: 'Content-Digest value is not a byte sequence' };
    }
    const received = Buffer.from(member[0]);
    const expected = digest(body, alg);
    if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
      return { ok: false, reason: 'Content-Digest does not match the request body' };
    }
    checked += 1;
  }
  if (checked === 0) return { ok: false, reason: 'Content-Digest has no supported algorithm (sha-256, sha-512)' };
  return { ok: true };
}
