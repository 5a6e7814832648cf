// The Models service against the real reference store: fetch, cache, dedupe, resume, faults.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import { CacheState, FetchState, type ModelsRig, type ModelsTestClient, startModelsSidecar, writeRandomFile } from './helpers/models';
import { sleep } from './helpers/sidecar';
import { type RunningStore, startStore } from './helpers/store';

const MiB = 1024 * 1024;
const sha256Of = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('Models: fetch through the cache', () => {
  let work: string;
  let storeRoot: string;
  let store: RunningStore;
  let rig: ModelsRig;
  let bigSha: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'sidestream-models-'));
    storeRoot = join(work, 'store');
    mkdirSync(join(storeRoot, 'yolo'), { recursive: true });
    bigSha = await writeRandomFile(join(storeRoot, 'yolo', 'big.onnx'), 40 * MiB + 123);
    writeFileSync(join(storeRoot, 'README.md'), 'sample store\n');
    copyFileSync(join(storeRoot, 'yolo', 'big.onnx'), join(storeRoot, 'yolo', 'same-bytes.onnx'));
    store = await startStore({ root: storeRoot, token: 'store-token' });
    rig = await startModelsSidecar(join(work, 'cache'));
    await rig.client.setStores([{ name: 'team', address: store.address, token: 'store-token' }]);
  });

  after(async () => {
    rig?.stop();
    await store?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('a fetch reports progress and ends with a verified, read-only file in the cache', async () => {
    const { events, last, error } = await rig.client.fetch({ store: { name: 'team' }, path: 'yolo/big.onnx', chunkBytes: 4 * MiB, concurrency: 4 });
    assert.equal(error, undefined, error?.details);
    assert.equal(last?.state, FetchState.FETCH_STATE_DONE);
    assert.equal(last?.sha256, bigSha);
    assert.equal(last?.fromCache, false);
    assert.equal(last?.bytesReceived, 40 * MiB + 123);
    assert.ok(events.some((e) => e.state === FetchState.FETCH_STATE_RESOLVING), 'a resolving event');
    assert.ok(events.some((e) => e.state === FetchState.FETCH_STATE_VERIFYING), 'a verifying event');
    const downloading = events.filter((e) => e.state === FetchState.FETCH_STATE_DOWNLOADING);
    assert.ok(downloading.every((e) => e.bytesTotal === 40 * MiB + 123));
    assert.ok(downloading.every((e, i) => i === 0 || e.bytesDone >= downloading[i - 1]!.bytesDone), 'bytes done never go back');
    assert.equal(sha256Of(last!.localPath), bigSha);
    assert.equal(statSync(last!.localPath).mode & 0o222, 0, 'the cached file is read-only');
    assert.ok(last!.localPath.startsWith(join(work, 'cache')), last!.localPath);
  });

  test('the second fetch is answered from the cache without a byte from the store', async () => {
    const { last, error } = await rig.client.fetch({ store: { name: 'team' }, path: 'yolo/big.onnx' });
    assert.equal(error, undefined);
    assert.equal(last?.fromCache, true);
    assert.equal(last?.bytesReceived, 0);
    assert.equal(last?.sha256, bigSha);
  });

  test('the same bytes under another path are stored once, named by two refs', async () => {
    const { last, error } = await rig.client.fetch({ store: { name: 'team' }, path: 'yolo/same-bytes.onnx' });
    assert.equal(error, undefined);
    assert.equal(last?.fromCache, true, 'no download: the content is cached already');
    const cache = await rig.client.listCache();
    const blob = cache.files.find((f) => f.sha256 === bigSha)!;
    assert.deepEqual(blob.refs.map((r) => r.path).sort(), ['yolo/big.onnx', 'yolo/same-bytes.onnx']);
    assert.equal(cache.files.filter((f) => f.sha256 === bigSha).length, 1);
  });

  test('ListStoreFiles shows folders, then files with their cache state', async () => {
    const root = await rig.client.listStoreFiles({ name: 'team' });
    assert.deepEqual(root.entries.map((e) => [e.path, e.isFolder]), [['yolo', true], ['README.md', false]]);
    assert.equal(root.entries[1]!.cacheState, CacheState.CACHE_STATE_REMOTE);
    const yolo = await rig.client.listStoreFiles({ name: 'team' }, 'yolo');
    assert.deepEqual(yolo.entries.map((e) => [e.path, e.cacheState]), [['yolo/big.onnx', CacheState.CACHE_STATE_CACHED], ['yolo/same-bytes.onnx', CacheState.CACHE_STATE_CACHED]]);
  });

  test('concurrent fetches of one file in one sidecar share one download', async () => {
    await rig.client.evict({ sha256: bigSha });
    const outcomes = await Promise.all(Array.from({ length: 4 }, () => rig.client.fetch({ store: { name: 'team' }, path: 'yolo/big.onnx', chunkBytes: 4 * MiB })));
    for (const { error, last } of outcomes) {
      assert.equal(error, undefined);
      assert.equal(last?.sha256, bigSha);
    }
    const received = new Set(outcomes.map((o) => o.last!.bytesReceived));
    assert.deepEqual([...received], [40 * MiB + 123], 'every caller saw the one download');
  });

  test('a store file that changes is STALE in the listing and a fetch gets the new revision', async () => {
    writeFileSync(join(storeRoot, 'README.md'), 'first\n');
    const first = await rig.client.fetch({ store: { name: 'team' }, path: 'README.md' });
    assert.equal(first.error, undefined);
    await sleep(20);
    writeFileSync(join(storeRoot, 'README.md'), 'second, longer\n');
    const listing = await rig.client.listStoreFiles({ name: 'team' });
    assert.equal(listing.entries.find((e) => e.path === 'README.md')?.cacheState, CacheState.CACHE_STATE_STALE);
    const second = await rig.client.fetch({ store: { name: 'team' }, path: 'README.md' });
    assert.equal(readFileSync(second.last!.localPath, 'utf8'), 'second, longer\n');
    const evicted = await rig.client.evict({ store: 'team', path: 'README.md' });
    assert.equal(evicted.freedBytes, 'first\n'.length + 'second, longer\n'.length, 'evicting by store and path removes every cached revision');
  });

  test('evict removes the file; evicting it again is NOT_FOUND', async () => {
    const freed = await rig.client.evict({ store: 'team', path: 'yolo/big.onnx' });
    assert.equal(freed.freedBytes, 40 * MiB + 123);
    await assert.rejects(rig.client.evict({ sha256: bigSha }), (error: { code: number }) => error.code === status.NOT_FOUND);
    const usage = await rig.client.usage();
    assert.equal(usage.folder, join(work, 'cache'));
    assert.ok(usage.freeDiskBytes > 0);
  });

  test('bad requests: unknown store, bad path, missing file, wrong store token, unreachable store', async () => {
    const cases: Array<[Parameters<ModelsTestClient['fetch']>[0], number, RegExp]> = [
      [{ store: { name: 'nope' }, path: 'a' }, status.NOT_FOUND, /no model store is named "nope"; known: team/],
      [{ store: { name: 'team' }, path: '../etc/passwd' }, status.INVALID_ARGUMENT, /".." segment/],
      [{ store: { name: 'team' }, path: '/etc/passwd' }, status.INVALID_ARGUMENT, /starts with "\/"/],
      [{ store: { name: 'team' }, path: 'missing.bin' }, status.NOT_FOUND, /missing\.bin/],
      [{ store: { inline: { name: 'wrong', address: store.address, token: 'bad' } }, path: 'README.md' }, status.UNAUTHENTICATED, /refused the token/],
      [{ store: { inline: { name: 'gone', address: '127.0.0.1:1', token: '' } }, path: 'README.md' }, status.UNAVAILABLE, /unreachable/],
    ];
    for (const [request, code, message] of cases) {
      const { error } = await rig.client.fetch(request);
      assert.equal(error?.code, code, `${JSON.stringify(request)}: ${error?.details}`);
      assert.match(error!.details, message);
    }
    const info = await rig.client.usage();
    assert.equal(info.partialFiles, 0, 'nothing half-written');
  });
});
