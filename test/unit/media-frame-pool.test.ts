// sidecar/media/framePool.ts: raw frame buffers used again once every holder let go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FramePool, shareFrame } from '../../sidecar/media/framePool';

test('a buffer given back is taken again; buffers it did not make are not kept', () => {
  const pool = new FramePool(1024);
  const first = pool.take();
  assert.equal(first.length, 1024);
  pool.give(first);
  assert.equal(pool.take(), first);
  pool.give(Buffer.alloc(1024));
  assert.equal(pool.spareCount, 0);
  assert.notEqual(pool.take(), first, 'a buffer still out is not handed out twice');
});

test('at most maxSpare buffers wait in the pool, and one given back twice is kept once', () => {
  const pool = new FramePool(16, 2);
  const taken = [pool.take(), pool.take(), pool.take()];
  for (const buffer of taken) pool.give(buffer);
  assert.equal(pool.spareCount, 2);
  const again = pool.take();
  pool.give(again);
  pool.give(again);
  assert.equal(pool.spareCount, 2);
});

test('a shared frame goes back to the pool when its last holder releases it', () => {
  const pool = new FramePool(16);
  const data = pool.take();
  const release = shareFrame(pool, data, 3)!;
  release();
  release();
  assert.equal(pool.spareCount, 0);
  release();
  assert.equal(pool.spareCount, 1);
  assert.equal(pool.take(), data);
});

test('with no holders the buffer goes back at once; frames not from the pool have nothing to release', () => {
  const pool = new FramePool(16);
  const data = pool.take();
  assert.equal(shareFrame(pool, data, 0), undefined);
  assert.equal(pool.spareCount, 1);
  assert.equal(shareFrame(pool, Buffer.alloc(16), 2), undefined);
  assert.equal(shareFrame(undefined, data, 2), undefined);
});
