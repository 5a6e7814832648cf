// sidecar/bufferPool.ts: payload buffers used again once every holder let go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool, sharedRelease } from '../../sidecar/bufferPool';

test('a buffer given back is taken again; buffers it did not make are not kept', () => {
  const pool = new BufferPool(1024);
  const first = pool.take();
  assert.equal(first.length, 1024);
  pool.give(first);
  assert.equal(pool.take(), first);
  pool.give(Buffer.alloc(1024));
  assert.equal(pool.spareCount, 0);
  assert.notEqual(pool.take(), first, 'a buffer still out is not handed out twice');
});

test('at most maxSpare buffers wait in the pool, and one given back twice is kept once', () => {
  const pool = new BufferPool(16, 2);
  const taken = [pool.take(), pool.take(), pool.take()];
  for (const buffer of taken) pool.give(buffer);
  assert.equal(pool.spareCount, 2);
  const again = pool.take();
  pool.give(again);
  pool.give(again);
  assert.equal(pool.spareCount, 2);
});

test('a shared buffer goes back to the pool when its last holder releases it', () => {
  const pool = new BufferPool(16);
  const data = pool.take();
  const release = sharedRelease(pool, data, 3)!;
  release();
  release();
  assert.equal(pool.spareCount, 0);
  release();
  assert.equal(pool.spareCount, 1);
  assert.equal(pool.take(), data);
});

test('with no holders the buffer goes back at once; buffers not from the pool have nothing to release', () => {
  const pool = new BufferPool(16);
  const data = pool.take();
  assert.equal(sharedRelease(pool, data, 0), undefined);
  assert.equal(pool.spareCount, 1);
  assert.equal(sharedRelease(pool, Buffer.alloc(16), 2), undefined);
  assert.equal(sharedRelease(undefined, data, 2), undefined);
});
