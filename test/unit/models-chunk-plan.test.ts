import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesDone, chunkLength, chunkStart, isPlanComplete, pendingChunks, planChunks, validatePlan } from '../../sidecar/files/chunkPlan';

describe('chunk plans', () => {
  test('a file is cut into whole chunks and a shorter last one', () => {
    const plan = planChunks(10, 4);
    assert.deepEqual(plan.done, [0, 0, 0]);
    assert.deepEqual([0, 1, 2].map((i) => [chunkStart(plan, i), chunkLength(plan, i)]), [[0, 4], [4, 4], [8, 2]]);
  });

  test('an empty file has no chunks and is complete at once', () => {
    const plan = planChunks(0, 4);
    assert.deepEqual(plan.done, []);
    assert.equal(isPlanComplete(plan), true);
  });

  test('pending chunks are those not complete, in file order; bytes done add up', () => {
    const plan = planChunks(10, 4);
    plan.done = [4, 1, 2];
    assert.deepEqual(pendingChunks(plan), [1]);
    assert.equal(bytesDone(plan), 7);
    assert.equal(isPlanComplete(plan), false);
  });

  test('bad sizes are refused', () => {
    assert.throws(() => planChunks(-1, 4), RangeError);
    assert.throws(() => planChunks(10, 0), RangeError);
    assert.throws(() => planChunks(1.5, 4), RangeError);
  });

  test('a plan read back from disk must fit the file it claims to describe', () => {
    assert.deepEqual(validatePlan({ size: 10, chunkBytes: 4, done: [4, 2, 0] }, 10), { size: 10, chunkBytes: 4, done: [4, 2, 0] });
    assert.equal(validatePlan({ size: 10, chunkBytes: 4, done: [4, 2, 0] }, 11), undefined, 'another size');
    assert.equal(validatePlan({ size: 10, chunkBytes: 4, done: [4, 2] }, 10), undefined, 'too few chunks');
    assert.equal(validatePlan({ size: 10, chunkBytes: 4, done: [5, 0, 0] }, 10), undefined, 'more than the chunk holds');
    assert.equal(validatePlan({ size: 10, chunkBytes: 4, done: [4, -1, 0] }, 10), undefined, 'negative');
    assert.equal(validatePlan({ size: 10, chunkBytes: 0, done: [] }, 10), undefined);
    assert.equal(validatePlan(null, 10), undefined);
  });
});
