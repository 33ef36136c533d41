import assert from 'node:assert/strict';
import { InMemoryNonceStore } from '../../server/auth/nonce-store';

describe('auth/nonce-store (in memory)', () => {
  it('reports a nonce as seen only from its second use, per keyid', async () => {
    let now = 1_000;
    const store = new InMemoryNonceStore({ now: () => now });
    assert.equal(await store.seen('k1', 'n', 5_000), false);
    assert.equal(await store.seen('k1', 'n', 5_000), true);
    assert.equal(await store.seen('k2', 'n', 5_000), false, 'same nonce under another keyid is distinct');
    assert.equal(await store.seen('k1', 'm', 5_000), false);
    now = 2_000;
    assert.equal(await store.seen('k1', 'n', 5_000), true);
  });

  it('forgets entries once expired and sweeps them', async () => {
    let now = 1_000;
    const store = new InMemoryNonceStore({ now: () => now, sweepIntervalMs: 0 });
    await store.seen('k', 'a', 2_000);
    await store.seen('k', 'b', 10_000);
    assert.equal(store.size(), 2);
    now = 2_000;
    assert.equal(store.size(), 1);
    assert.equal(await store.seen('k', 'a', 3_000), false, 'an expired nonce is recorded afresh');
    assert.equal(await store.seen('k', 'b', 10_000), true);
    now = 20_000;
    assert.equal(store.size(), 0);
  });

  it('is atomic under concurrent calls: exactly one caller wins', async () => {
    const store = new InMemoryNonceStore();
    const results = await Promise.all(Array.from({ length: 20 }, () => store.seen('k', 'same', Date.now() + 60_000)));
    assert.equal(results.filter((seen) => !seen).length, 1);
  });
});
