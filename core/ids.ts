import crypto from 'node:crypto';
import { ulid } from 'ulid';

/**
 * ULIDs (time-ordered, 80 random bits) for journal events, outbox rows and timers. ulid's default
 * source asks the OS for one random byte per character; this one draws from a pooled buffer refilled
 * from the same CSPRNG, which takes id generation off the accept path's profile.
 */
const POOL_BYTES = 4096;
let pool = crypto.randomBytes(POOL_BYTES);
let next = 0;

function pooledRandom(): number {
  if (next >= POOL_BYTES) {
    pool = crypto.randomBytes(POOL_BYTES);
    next = 0;
  }
  // [0, 1): 256 values map evenly onto ulid's 32 characters.
  return pool[next++]! / 256;
}

export function newId(): string {
  return ulid(undefined, pooledRandom);
}
