import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { openReadPool } from '../../persistence/database';
import { isUniqueViolation } from '../../persistence/errors';
import { GroupCommit, insertAppendOnly } from '../../persistence/group-commit';
import { tempDir } from '../support/service';
import { openTestDatabase, testDatabase } from '../support/test-database';

/** Group commit on the suite's backend: batching, answers only after the commit, a failing unit failing alone. */
describe('group commit', () => {
  let dir: string;
  let db: Knex;
  let other: Knex;

  beforeEach(async () => {
    dir = tempDir('issuance-group-commit-');
    db = await openTestDatabase(dir);
    // A second set of connections: what it sees is what has been committed.
    other = openReadPool(testDatabase(dir), db);
    if (other === db) other = await openTestDatabase(dir); // PostgreSQL: a second pool
    await db.schema.createTable('gc_items', (t) => {
      t.string('id').primary();
      t.integer('n');
    });
    await db.schema.createTable('gc_notes', (t) => {
      t.increments('position');
      t.string('item_id');
    });
  });
  afterEach(async () => {
    await other.destroy();
    await db.destroy();
  });

  it('commits concurrent units together and answers each only once its rows are committed', async () => {
    const commits = new GroupCommit(db, { maxBatch: 16 });
    const seenWhenAnswered: number[] = [];
    await Promise.all(
      Array.from({ length: 48 }, (_, i) =>
        commits
          .run(async (trx) => {
            await trx('gc_items').insert({ id: `item-${i}`, n: i });
            await insertAppendOnly(trx, 'gc_notes', { item_id: `item-${i}` });
            return i;
          })
          .then(async (value) => {
            assert.equal(value, i);
            const [row] = await other('gc_notes').where({ item_id: `item-${i}` }).count({ n: '*' });
            seenWhenAnswered.push(Number(row!.n) + Number((await other('gc_items').where({ id: `item-${i}` }).first()) ? 1 : 0));
          }),
      ),
    );
    assert.deepEqual(seenWhenAnswered, Array(48).fill(2), 'every caller could already read its item and its note');
    const sizes = commits.recentBatchSizes();
    assert.equal(sizes.reduce((a, b) => a + b, 0), 48);
    assert.ok(Math.max(...sizes) > 1, `units shared commits (batch sizes ${sizes.join(',')})`);
    assert.ok(Math.max(...sizes) <= 16);
  });

  it('fails a failing unit alone: its writes roll back, the rest of its batch commits', async () => {
    await db('gc_items').insert({ id: 'taken', n: 0 });
    const commits = new GroupCommit(db);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        commits.run(async (trx) => {
          await insertAppendOnly(trx, 'gc_notes', { item_id: `note-${i}` });
          // Every fifth unit collides with the existing row after it has written its note.
          await trx('gc_items').insert({ id: i % 5 === 4 ? 'taken' : `fresh-${i}`, n: i });
        }),
      ),
    );
    outcomes.forEach((o, i) => {
      if (i % 5 === 4) assert.ok(o.status === 'rejected' && isUniqueViolation(o.reason), `unit ${i} fails with its own error`);
      else assert.equal(o.status, 'fulfilled', `unit ${i} commits`);
    });
    const notes = (await db('gc_notes').select('item_id')).map((r: any) => r.item_id).sort();
    const expected = Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 5 !== 4).map((i) => `note-${i}`).sort();
    assert.deepEqual(notes, expected, 'a failed unit leaves none of its rows');
    assert.equal(Number((await db('gc_items').count({ n: '*' }))[0]!.n), 1 + 16);
  });
});
