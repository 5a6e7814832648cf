// The environment sidecars are started with: glibc's mmap threshold raised, merged
// with whatever GLIBC_TUNABLES the user has, and never overriding the user's own threshold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withMallocTuning } from '../../sidecar/mallocTuning';

test('adds the mmap threshold, keeps the other variables', () => {
  assert.deepEqual(withMallocTuning({ PATH: '/bin' }), { PATH: '/bin', GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=33554432' });
});

test('appends to the user\'s own tunables', () => {
  assert.equal(withMallocTuning({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=33554432');
});

test('a threshold the user chose wins', () => {
  const env = { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' };
  assert.equal(withMallocTuning(env), env);
});
