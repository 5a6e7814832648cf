// Faults while fetching model files, each with the real store, the real sidecar and a
// real cache folder: a clear error, nothing lost, the sidecar still serving.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { FetchState, type ModelsRig, startModelsSidecar, writeRandomFile } from './helpers/models';
import { freePort } from './helpers/network';
import { sleep } from './helpers/sidecar';
import { bytesServed, type RunningStore, startStore } from './helpers/store';
import { startTcpRelay } from './helpers/tcpRelay';

const MiB = 1024 * 1024;
const sha256Of = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

const partialFiles = (cacheDir: string) => (existsSync(join(cacheDir, 'v1', 'partial')) ? readdirSync(join(cacheDir, 'v1', 'partial')) : []);
const blobFiles = (cacheDir: string) =>
  existsSync(join(cacheDir, 'v1', 'blobs')) ? readdirSync(join(cacheDir, 'v1', 'blobs')).flatMap((p) => readdirSync(join(cacheDir, 'v1', 'blobs', p))) : [];

describe('Models: faults', () => {
  let work: string;
  let storeRoot: string;
  let fileSha: string;
  const fileSize = 40 * MiB + 7;
  let store: RunningStore;
  let storePort: number;
  let counter = 0;
  const newCache = () => join(work, `cache-${(counter += 1)}`);

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'sidestream-model-faults-'));
    storeRoot = join(work, 'store');
    mkdirSync(storeRoot);
    fileSha = await writeRandomFile(join(storeRoot, 'model.bin'), fileSize);
    storePort = await freePort();
    // 8 MB/s per range, 4 ranges: about 1.3 s for the file, time enough to act in the middle.
    store = await startStore({ root: storeRoot, rateLimit: 8_000_000, args: ['--listen', `127.0.0.1:${storePort}`] });
  });

  after(async () => {
    await store?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const request = (extra: Record<string, unknown> = {}) => ({ store: { inline: { name: 'team', address: store.address, token: '' } }, path: 'model.bin', chunkBytes: 4 * MiB, concurrency: 4, ...extra });

  async function fetchUntil(rig: ModelsRig, fraction: number, extra: Record<string, unknown> = {}) {
    let reached!: () => void;
    const halfway = new Promise<void>((resolve) => (reached = resolve));
    const fetch = rig.client.startFetch(request(extra), (event) => {
      if (event.bytesTotal > 0 && event.bytesDone >= event.bytesTotal * fraction) reached();
    });
    await Promise.race([halfway, fetch.done]);
    return fetch;
  }

  test('cancel in the middle: CANCELLED, the partial is kept, and the next fetch only gets the rest', async () => {
    const cacheDir = newCache();
    const rig = await startModelsSidecar(cacheDir);
    try {
      const servedBefore = bytesServed(store);
      const fetch = await fetchUntil(rig, 0.4);
      fetch.call.cancel();
      const { error } = await fetch.done;
      assert.equal(error?.code, status.CANCELLED);
      await sleep(300);
      const listed = await rig.client.listCache();
      assert.equal(listed.partials.length, 1);
      const partial = listed.partials[0]!;
      assert.equal(partial.sha256, fileSha);
      assert.equal(partial.active, false);
      assert.ok(partial.bytesDone > fileSize * 0.3 && partial.bytesDone < fileSize, `partial bytes ${partial.bytesDone}`);

      const resumed = await rig.client.fetch(request());
      assert.equal(resumed.error, undefined, resumed.error?.details);
      assert.equal(resumed.last?.sha256, fileSha);
      assert.equal(resumed.last?.bytesReceived, fileSize - partial.bytesDone, 'only the rest was fetched');
      assert.equal(sha256Of(resumed.last!.localPath), fileSha);
      await sleep(200);
      const served = bytesServed(store) - servedBefore;
      assert.ok(served - fileSize < fileSize * 0.1, `the store served ${served} bytes for a file of ${fileSize}`);
      assert.deepEqual(partialFiles(cacheDir), [], 'no partial left');
    } finally {
      rig?.stop();
    }
  });

  test('sidecar killed (SIGKILL) mid-fetch: a new sidecar on the same cache resumes', async () => {
    const cacheDir = newCache();
    const first = await startModelsSidecar(cacheDir);
    const servedBefore = bytesServed(store);
    await fetchUntil(first, 0.5);
    first?.stop();
    await first.sidecar.exited;
    await sleep(300);
    const second = await startModelsSidecar(cacheDir);
    try {
      const outcome = await second.client.fetch(request());
      assert.equal(outcome.error, undefined, outcome.error?.details);
      assert.equal(outcome.last?.sha256, fileSha);
      assert.ok(outcome.last!.bytesReceived < fileSize * 0.6, `the second sidecar received ${outcome.last!.bytesReceived} of ${fileSize}`);
      assert.ok(outcome.events.some((e) => /resuming/.test(e.message)), 'it says it resumes');
      await sleep(200);
      const served = bytesServed(store) - servedBefore;
      assert.ok(served - fileSize < fileSize * 0.15, `the store served ${served} bytes in all for a file of ${fileSize}`);
    } finally {
      second?.stop();
    }
  });

  test('a corrupted byte in the partial file: DATA_LOSS naming both digests, the partial deleted, the next fetch good', async () => {
    const cacheDir = newCache();
    const rig = await startModelsSidecar(cacheDir);
    try {
      const fetch = await fetchUntil(rig, 0.5);
      fetch.call.cancel();
      await fetch.done;
      await sleep(300);
      const part = join(cacheDir, 'v1', 'partial', `${fileSha}.part`);
      const fd = openSync(part, 'r+');
      writeSync(fd, Buffer.from([0x5a, 0xa5, 0x5a]), 0, 3, 100); // inside the first range, which is complete
      closeSync(fd);
      const damaged = await rig.client.fetch(request());
      assert.equal(damaged.error?.code, status.DATA_LOSS);
      assert.match(damaged.error!.details, new RegExp(`expected ${fileSha}, got [0-9a-f]{64}`));
      assert.deepEqual(partialFiles(cacheDir), []);
      assert.deepEqual(blobFiles(cacheDir), [], 'nothing unverified became visible');
      const again = await rig.client.fetch(request());
      assert.equal(again.error, undefined);
      assert.equal(sha256Of(again.last!.localPath), fileSha);
    } finally {
      rig?.stop();
    }
  });

  test('a corrupted byte in transit (a relay flips one): DATA_LOSS, nothing published', async () => {
    const cacheDir = newCache();
    const rig = await startModelsSidecar(cacheDir);
    const relay = await startTcpRelay(store.address);
    try {
      relay.corruptAt(5 * MiB + 4321);
      const outcome = await rig.client.fetch({ ...request(), store: { inline: { name: 'relayed', address: relay.address, token: '' } } });
      assert.equal(outcome.error?.code, status.DATA_LOSS, outcome.error?.details);
      assert.deepEqual(blobFiles(cacheDir), []);
      assert.deepEqual(partialFiles(cacheDir), []);
    } finally {
      await relay.close();
      rig?.stop();
    }
  });

  test('the file changes on the store during the fetch: started again on the new revision, never a mix', async () => {
    const cacheDir = newCache();
    const rig = await startModelsSidecar(cacheDir);
    const path = join(storeRoot, 'changing.bin');
    const oldSha = await writeRandomFile(path, 24 * MiB);
    const newSha = await writeRandomFile(`${path}.new`, 20 * MiB);
    try {
      let replaced = false;
      // Capped at 12 MB/s: about 2 s for the old revision, which is replaced a third of the way in.
      const fetch = rig.client.startFetch({ ...request({ maxBytesPerSecond: 12_000_000 }), path: 'changing.bin' }, (event) => {
        if (!replaced && event.bytesTotal > 0 && event.bytesDone > event.bytesTotal / 3) {
          replaced = true;
          renameSync(`${path}.new`, path);
        }
      });
      const { error, last } = await fetch.done;
      assert.ok(replaced, 'the file was replaced during the fetch');
      assert.equal(error, undefined, error?.details);
      assert.notEqual(oldSha, newSha);
      assert.equal(last?.sha256, newSha);
      assert.equal(sha256Of(last!.localPath), newSha);
      await sleep(300);
      assert.deepEqual(partialFiles(cacheDir), [], 'the old revision left nothing behind');
    } finally {
      rig?.stop();
      rmSync(path, { force: true });
    }
  });

  test('the store killed mid-fetch and started again: the ranges are retried and the fetch completes', async () => {
    const cacheDir = newCache();
    const rig = await startModelsSidecar(cacheDir);
    try {
      const fetch = await fetchUntil(rig, 0.3);
      store.kill();
      await store.exited;
      await sleep(700);
      store = await startStore({ root: storeRoot, rateLimit: 8_000_000, args: ['--listen', `127.0.0.1:${storePort}`] });
      const { error, last } = await fetch.done;
      assert.equal(error, undefined, error?.details);
      assert.equal(last?.sha256, fileSha);
      assert.ok(last!.restarts > 0, 'ranges were retried');
    } finally {
      rig?.stop();
    }
  });

  test('a store that stays down: UNAVAILABLE after the retries, the partial kept', async () => {
    const cacheDir = newCache();
    const rig = await startModelsSidecar(cacheDir);
    try {
      const fetch = await fetchUntil(rig, 0.3, { maxRetries: 2 });
      store.kill();
      await store.exited;
      const { error } = await fetch.done;
      assert.equal(error?.code, status.UNAVAILABLE);
      assert.match(error!.details, /unreachable|given up/);
      const listed = await rig.client.listCache();
      assert.equal(listed.partials.length, 1, 'kept for the next fetch');
    } finally {
      rig?.stop();
      store = await startStore({ root: storeRoot, rateLimit: 8_000_000, args: ['--listen', `127.0.0.1:${storePort}`] });
    }
  });

  test('no bytes for longer than stall_seconds: the range is asked again without using a retry', async () => {
    const cacheDir = newCache();
    const rig = await startModelsSidecar(cacheDir);
    const relay = await startTcpRelay(store.address);
    try {
      let frozen = false;
      const fetch = rig.client.startFetch({ ...request({ stallSeconds: 1, maxRetries: 1 }), store: { inline: { name: 'relayed', address: relay.address, token: '' } } }, (event) => {
        if (!frozen && event.bytesDone > fileSize / 4) {
          frozen = true;
          relay.freeze(2500);
        }
      });
      const { error, last } = await fetch.done;
      assert.equal(error, undefined, error?.details);
      assert.equal(last?.sha256, fileSha);
      assert.ok(last!.restarts >= 1, `restarts: ${last!.restarts}`);
    } finally {
      await relay.close();
      rig?.stop();
    }
  });

  test('max_bytes_per_second caps the fetch', async () => {
    const cacheDir = newCache();
    const rig = await startModelsSidecar(cacheDir);
    try {
      const started = performance.now();
      const { error, last } = await rig.client.fetch(request({ maxBytesPerSecond: 20_000_000 }));
      const seconds = (performance.now() - started) / 1000;
      assert.equal(error, undefined);
      assert.equal(last?.sha256, fileSha);
      assert.ok(seconds >= (fileSize / 20_000_000) * 0.85, `${fileSize} bytes at 20 MB/s took ${seconds.toFixed(2)} s`);
    } finally {
      rig?.stop();
    }
  });

  test('two sidecars on one cache fetch the same file at once: the store serves it once, both get it', async () => {
    const cacheDir = newCache();
    const [a, b] = await Promise.all([startModelsSidecar(cacheDir), startModelsSidecar(cacheDir)]);
    try {
      const servedBefore = bytesServed(store);
      const outcomes = await Promise.all([a.client.fetch(request()), b.client.fetch(request()), a.client.fetch(request()), b.client.fetch(request())]);
      for (const { error, last } of outcomes) {
        assert.equal(error, undefined, error?.details);
        assert.equal(last?.sha256, fileSha);
      }
      assert.ok(outcomes.some((o) => o.events.some((e) => e.state === FetchState.FETCH_STATE_WAITING)), 'one of them waited for the other');
      await sleep(300);
      const served = bytesServed(store) - servedBefore;
      assert.ok(served <= fileSize * 1.05, `the store served ${served} bytes for a file of ${fileSize}`);
    } finally {
      a?.stop();
      b?.stop();
    }
  });

  test('a lock left by a dead process is taken over: no waiting forever', async () => {
    const cacheDir = newCache();
    const rig = await startModelsSidecar(cacheDir);
    try {
      const dead = spawn(process.execPath, ['-e', '0']);
      await new Promise((resolve) => dead.once('exit', resolve));
      const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      mkdirSync(join(cacheDir, 'v1', 'locks'), { recursive: true });
      writeFileSync(join(cacheDir, 'v1', 'locks', `${fileSha}.lock`), JSON.stringify({ pid: dead.pid, host: hostname(), bootId, nonce: 'left-behind', startedMs: Date.now() }));
      const { error, last } = await rig.client.fetch(request());
      assert.equal(error, undefined, error?.details);
      assert.equal(last?.sha256, fileSha);
      assert.ok(rig.sidecar.stderrLines.some((line) => /taking over the download/.test(line) && line.includes(`pid ${dead.pid}`)), 'the sidecar says why it took over');
    } finally {
      rig?.stop();
    }
  });

  test('a cache limit evicts the least recently used file, never a pinned one', async () => {
    const cacheDir = newCache();
    const rig = await startModelsSidecar(cacheDir, ['--cache-limit', String(50 * MiB)]);
    const names = ['a.bin', 'b.bin', 'c.bin', 'd.bin'];
    const shas = new Map<string, string>();
    try {
      for (const name of names) shas.set(name, await writeRandomFile(join(storeRoot, name), 20 * MiB));
      const fetchName = async (name: string, pin = false) => {
        const outcome = await rig.client.fetch({ ...request({ pin }), path: name });
        return outcome;
      };
      assert.equal((await fetchName('a.bin', true)).error, undefined);
      assert.equal((await fetchName('b.bin')).error, undefined);
      assert.equal((await fetchName('c.bin')).error, undefined, 'b is evicted to make room (a is pinned)');
      const cached = (await rig.client.listCache()).files.map((f) => f.sha256);
      assert.ok(cached.includes(shas.get('a.bin')!), 'the pinned file stays');
      assert.ok(!cached.includes(shas.get('b.bin')!), 'the least recently used went');
      assert.ok(cached.includes(shas.get('c.bin')!));
      const usage = await rig.client.usage();
      assert.ok(usage.cachedBytes <= 50 * MiB);
      assert.equal(usage.limitBytes, 50 * MiB);
    } finally {
      rig?.stop();
      for (const name of names) rmSync(join(storeRoot, name), { force: true });
    }
  });

  test('a full disk (a 24 MiB tmpfs): RESOURCE_EXHAUSTED saying how much is needed and free, nothing half-written', async (t) => {
    const mountPoint = join(work, 'tinyfs');
    mkdirSync(mountPoint);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountPoint], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      t.skip(`cannot mount a tmpfs here (needs root): ${mounted.stderr.trim()}`);
      return;
    }
    const rig = await startModelsSidecar(mountPoint);
    try {
      const { error } = await rig.client.fetch(request());
      assert.equal(error?.code, status.RESOURCE_EXHAUSTED);
      assert.match(error!.details, /not enough disk space .* needs 40 MiB more and .* is free/);
      assert.deepEqual(partialFiles(mountPoint), []);
      assert.deepEqual(blobFiles(mountPoint), []);
      const usage = await rig.client.usage();
      assert.equal(usage.cachedFiles, 0, 'the sidecar still answers');
    } finally {
      rig?.stop();
      spawnSync('umount', ['-l', mountPoint]);
    }
  });

  test('CleanCache deletes partials nothing is fetching', async () => {
    const cacheDir = newCache();
    const rig = await startModelsSidecar(cacheDir);
    try {
      const fetch = await fetchUntil(rig, 0.3);
      fetch.call.cancel();
      await fetch.done;
      await sleep(300);
      const before = await rig.client.usage();
      assert.equal(before.partialFiles, 1);
      const cleaned = await rig.client.clean(false);
      assert.equal(cleaned.removedFiles, 1);
      assert.ok(cleaned.freedBytes > 0);
      assert.deepEqual(partialFiles(cacheDir), []);
    } finally {
      rig?.stop();
    }
  });
});

describe('Models: a store that breaks the protocol', () => {
  // A real gRPC server in this process that answers like a broken or hostile store would.
  let server: import('@grpc/grpc-js').Server;
  let address: string;
  let work: string;
  let rig: ModelsRig;
  const served = Buffer.from('twelve bytes');
  const goodSha = createHash('sha256').update(served).digest('hex');

  before(async () => {
    const grpc = await import('@grpc/grpc-js');
    const { ModelStoreServiceService } = await import('../../proto/gen/sidestream/store/v1/model_store');
    const shaFor: Record<string, string> = { 'escape.bin': '../../../../tmp/escaped', 'upper.bin': goodSha.toUpperCase(), 'wrong-offsets.bin': goodSha };
    server = new grpc.Server();
    server.addService(ModelStoreServiceService, {
      listFiles: (_call: unknown, callback: (error: null, response: unknown) => void) => callback(null, { files: [], nextPageToken: '' }),
      statFile: (call: { request: { path: string } }, callback: (error: null, response: unknown) => void) =>
        callback(null, { file: { path: call.request.path, size: served.length, sha256: shaFor[call.request.path] ?? goodSha, modifiedUnixMs: 0, revision: 'r1' } }),
      readFile: (call: { request: { offset: number }; write(m: unknown): void; end(): void }) => {
        // Chunks that do not start where the range does: a store that ignores ranges.
        call.write({ offset: call.request.offset + 5, data: served });
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
    address = `127.0.0.1:${port}`;
    work = mkdtempSync(join(tmpdir(), 'sidestream-bad-store-'));
    rig = await startModelsSidecar(join(work, 'cache'));
  });

  after(() => {
    rig?.stop();
    server?.forceShutdown();
    rmSync(work, { recursive: true, force: true });
  });

  const fetchFrom = (path: string) => rig.client.fetch({ store: { inline: { name: 'bad', address, token: '' } }, path, maxRetries: 1 });

  test('a sha256 that is a path, or not lowercase hex: FAILED_PRECONDITION, nothing written anywhere', async () => {
    for (const path of ['escape.bin', 'upper.bin']) {
      const { error } = await fetchFrom(path);
      assert.equal(error?.code, status.FAILED_PRECONDITION, `${path}: ${error?.details}`);
      assert.match(error!.details, /a conforming store gives 64 lowercase hex digits/);
    }
    assert.equal(existsSync('/tmp/escaped'), false);
    assert.deepEqual(blobFiles(join(work, 'cache')), []);
  });

  test('chunks at the wrong offsets: the range is retried, then the fetch fails saying what the store sent; the sidecar goes on', async () => {
    const { error } = await fetchFrom('wrong-offsets.bin');
    assert.equal(error?.code, status.FAILED_PRECONDITION, error?.details);
    assert.match(error!.details, /does not follow the model store protocol: the store sent bytes at 5 \(\+12\) where 0 was expected/);
    assert.deepEqual(blobFiles(join(work, 'cache')), [], 'nothing unverified is published');
    const usage = await rig.client.usage();
    assert.equal(usage.cachedFiles, 0, 'the sidecar still answers');
  });
});
