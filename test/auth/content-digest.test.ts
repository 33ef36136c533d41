import assert from 'node:assert/strict';
import { computeContentDigest, verifyContentDigest } from '../../server/auth/content-digest';

// RFC 9530 §2 / RFC 9421 Appendix B.2 example body and its digests.
const BODY = Buffer.from('{"hello": "world"}');
const SHA256 = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:';
const SHA512 = 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';

describe('auth/content-digest', () => {
  it('computes the RFC 9530 sha-256 example value', () => {
    assert.equal(computeContentDigest(BODY), SHA256);
    assert.equal(computeContentDigest(BODY, 'sha-512'), SHA512);
  });

  it('digests the empty body', () => {
    assert.equal(computeContentDigest(Buffer.alloc(0)), 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
  });

  it('accepts matching sha-256 and sha-512 digests, alone or together', () => {
    assert.deepEqual(verifyContentDigest(SHA256, BODY), { ok: true });
    assert.deepEqual(verifyContentDigest(SHA512, BODY), { ok: true });
    assert.deepEqual(verifyContentDigest(`${SHA256}, ${SHA512}`, BODY), { ok: true });
  });

  it('rejects a digest of different bytes (a single changed byte)', () => {
    const r = verifyContentDigest(SHA256, Buffer.from('{"hello": "World"}'));
    assert.equal(r.ok, false);
  });

  it('rejects when any supported digest present mismatches', () => {
    const badSha512 = computeContentDigest(Buffer.from('other'), 'sha-512');
    assert.equal(verifyContentDigest(`${SHA256}, ${badSha512}`, BODY).ok, false);
  });

  it('rejects missing, unparsable, non-byte-sequence, and unsupported-only headers', () => {
    assert.equal(verifyContentDigest(undefined, BODY).ok, false);
    assert.equal(verifyContentDigest('', BODY).ok, false);
    assert.equal(verifyContentDigest('sha-256=X48E9q', BODY).ok, false);
    assert.equal(verifyContentDigest('sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="', BODY).ok, false);
    assert.equal(verifyContentDigest('md5=:AAAAAAAAAAAAAAAAAAAAAA==:', BODY).ok, false);
  });

  it('ignores unknown algorithms next to a valid one', () => {
    assert.deepEqual(verifyContentDigest(`md5=:AAAAAAAAAAAAAAAAAAAAAA==:, ${SHA256}`, BODY), { ok: true });
  });
});
