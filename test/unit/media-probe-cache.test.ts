// sidecar/media/probeCache.ts: ffprobe's answers kept per file revision, least recently used first out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProbeResponse } from '../../proto/gen/sidestream/v1/streams';
import type { FileIdentity } from '../../sidecar/fileRevision';
import { ProbeCache } from '../../sidecar/media/probeCache';

const version = (size: bigint, mtimeNs = 1n, ino = 7n): FileIdentity => ({ ino, size, mtimeNs });
const probe = (codec: string): ProbeResponse => ({ container: 'mov,mp4', durationSeconds: 2, bitRate: 1, live: false, streams: [{ index: 0, type: 'video', codec, profile: '', width: 640, height: 360, frameRate: 30, pixelFormat: 'yuv420p', sampleRate: 0, channels: 0, bitRate: 0 }] });

test('an answer is given back only for the version of the file it was given for', () => {
  const cache = new ProbeCache();
  cache.set('a', version(100n), probe('h264'));
  assert.equal(cache.get('a', version(100n))?.streams[0]?.codec, 'h264');
  assert.equal(cache.get('a', version(101n)), undefined, 'another size');
  assert.equal(cache.get('a', version(100n)), undefined, 'a stale answer is dropped, not kept for later');
  cache.set('a', version(100n), probe('h264'));
  assert.equal(cache.get('a', version(100n, 2n)), undefined, 'another modification time');
  cache.set('a', version(100n), probe('h264'));
  assert.equal(cache.get('a', version(100n, 1n, 8n)), undefined, 'another inode (a file renamed over it)');
  assert.equal(cache.get('b', version(100n)), undefined, 'another key');
});

test('callers get a copy: changing it does not change what is kept', () => {
  const cache = new ProbeCache();
  cache.set('a', version(1n), probe('vp9'));
  cache.get('a', version(1n))!.streams[0]!.codec = 'changed';
  assert.equal(cache.get('a', version(1n))?.streams[0]?.codec, 'vp9');
});

test('the least recently used answer goes first when the cache is full', () => {
  const cache = new ProbeCache(2);
  cache.set('a', version(1n), probe('a'));
  cache.set('b', version(1n), probe('b'));
  assert.ok(cache.get('a', version(1n)));
  cache.set('c', version(1n), probe('c'));
  assert.equal(cache.size, 2);
  assert.equal(cache.get('b', version(1n)), undefined);
  assert.ok(cache.get('a', version(1n)));
  assert.ok(cache.get('c', version(1n)));
});
