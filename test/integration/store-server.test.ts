// The reference model store server (`node dist/sidecar.js serve-store DIR`) as a real
// process over real gRPC: listings, digests, ranges, tokens, traversal, revisions,
// back-pressure and the rate cap.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ReadFileResponse } from '../../proto/gen/sidestream/store/v1/model_store';
import { isRunning, waitUntil } from './helpers/procfs';
import { newToken, repoRoot, runSidecar, sleep } from './helpers/sidecar';
import { type RunningStore, startStore, storeClient } from './helpers/store';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let root: string;
const files = new Map<string, Buffer>();

async function put(path: string, data: Buffer): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), data);
  files.set(path, data);
}

/** Writes `bytes` bytes of random 1 MiB blocks (one block repeated: fast, and still not all zeros). */
async function putBig(path: string, bytes: number): Promise<void> {
  const block = randomBytes(MiB);
  const handle = await open(join(root, path), 'w');
  try {
    for (let written = 0; written < bytes; written += MiB) await handle.write(block, 0, Math.min(MiB, bytes - written));
  } finally {
    await handle.close();
  }
}

const hashingLines = (store: RunningStore, path: string) =>
  store.stderrLines.filter((line) => line.startsWith('[debug] hashing ') && line.includes(`${join(store.root, path)} `)).length;

function vmRssKb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? NaN);
}

async function expectCode(promise: Promise<unknown>, codes: status[], what: string): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const e = error as { code?: number; details?: string };
    assert.ok(codes.includes(e.code as status), `${what}: code ${e.code} (${e.details}), expected ${codes.map((c) => status[c]).join(' or ')}`);
    return e.details ?? '';
  }
  assert.fail(`${what}: succeeded, expected ${codes.map((c) => status[c]).join(' or ')}`);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sidestream-store-'));
  await put('a.txt', Buffer.from('hello store\n'));
  await put('models/yolo/v8n.onnx', randomBytes(3 * MiB + 17));
  await put('models/yolo/v8s.onnx', randomBytes(1000));
  await put('models/sam.bin', randomBytes(5000));
  await put('models-extra/x.bin', randomBytes(10));
  await put('empty.bin', Buffer.alloc(0));
  for (let i = 0; i < 23; i++) await put(`many/f${String(i).padStart(3, '0')}.bin`, Buffer.from(`file ${i}`));
  await symlink('/etc', join(root, 'etc'));
  await symlink('/etc/passwd', join(root, 'passwd-link'));
  await symlink(join(root, 'models', 'sam.bin'), join(root, 'sam-link.bin'));
  await symlink('models/yolo', join(root, 'yolo-dir-link'));
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('serve-store: one store, no token', { timeout: 120_000 }, () => {
  let store: RunningStore;
  let client: ReturnType<typeof storeClient>;
  before(async () => {
    store = await startStore({ root });
    client = storeClient(store.address);
  });
  after(async () => {
    client?.close();
    if (store) assert.deepEqual(await store.stop(), { code: 0, signal: null }, store.stderrLines.join('\n'));
  });

  test('the handshake names the address, pid and real root; logs go to stderr', async () => {
    assert.match(store.address, /^127\.0\.0\.1:\d+$/);
    assert.equal(store.pid, store.process.pid);
    assert.equal(store.root, root);
    const started = () => store.stderrLines.some((l) => l.startsWith('[info] ') && l.includes(store.address));
    await waitUntil(started, 5000, () => store.stderrLines.join('\n'));
  });

  test('ListFiles: every file, recursively, in path order, the same across page sizes', async () => {
    const expected = [...files.keys(), 'sam-link.bin'].sort();
    const whole = await client.listAll('', 0);
    assert.deepEqual(whole.map((f) => f.path), expected);
    for (const pageSize of [1, 7, 23, 10_000]) {
      const paged = await client.listAll('', pageSize);
      assert.deepEqual(paged.map((f) => f.path), expected, `page size ${pageSize}`);
    }
    const first = await client.listFiles({ pageSize: 7 });
    assert.equal(first.files.length, 7);
    assert.notEqual(first.nextPageToken, '');
    const last = await client.listFiles({ pageSize: 10_000 });
    assert.equal(last.nextPageToken, '');
    const info = whole.find((f) => f.path === 'models/yolo/v8n.onnx')!;
    assert.equal(info.size, 3 * MiB + 17);
    assert.ok(info.modifiedUnixMs > Date.now() - 600_000 && info.modifiedUnixMs <= Date.now() + 1000);
    assert.notEqual(info.revision, '');
  });

  test('ListFiles: a prefix lists the files under that folder, with or without "/"', async () => {
    const models = ['models/sam.bin', 'models/yolo/v8n.onnx', 'models/yolo/v8s.onnx'];
    assert.deepEqual((await client.listAll('models')).map((f) => f.path), models);
    assert.deepEqual((await client.listAll('models/')).map((f) => f.path), models);
    assert.deepEqual((await client.listAll('many', 5)).length, 23);
    assert.deepEqual((await client.listAll('nothing-here')).map((f) => f.path), []);
    assert.deepEqual((await client.listAll('a.txt')).map((f) => f.path), [], 'a file is not a folder');
    assert.deepEqual((await client.listAll('etc')).map((f) => f.path), [], 'a link to a folder outside lists nothing');
    await expectCode(client.listFiles({ prefix: '../' }), [status.INVALID_ARGUMENT], 'prefix ../');
    await expectCode(client.listFiles({ prefix: '/etc' }), [status.INVALID_ARGUMENT], 'prefix /etc');
    await expectCode(client.listFiles({ pageToken: 'garbage!' }), [status.INVALID_ARGUMENT], 'bad page token');
    const token = (await client.listFiles({ prefix: 'many', pageSize: 2 })).nextPageToken;
    const details = await expectCode(client.listFiles({ prefix: 'models', pageToken: token }), [status.INVALID_ARGUMENT], 'token of another prefix');
    assert.match(details, /prefix/);
  });

  test('StatFile: size, revision and the right sha256; hashed once, again after a change; listings show a known digest', async () => {
    const path = 'models/yolo/v8n.onnx';
    assert.equal((await client.listAll('models/yolo')).find((f) => f.path === path)!.sha256, '', 'listings never hash');
    const [one, two] = await Promise.all([client.statFile(path), client.statFile(path)]);
    const three = await client.statFile(path);
    for (const info of [one, two, three]) {
      assert.equal(info.sha256, sha256(files.get(path)!));
      assert.equal(info.size, files.get(path)!.length);
      assert.equal(info.path, path);
      assert.equal(info.revision, one.revision);
    }
    assert.equal(hashingLines(store, path), 1, `one "hashing" line for three stats:\n${store.stderrLines.join('\n')}`);
    assert.equal((await client.listAll('models/yolo')).find((f) => f.path === path)!.sha256, one.sha256, 'a known digest is listed');

    const changed = Buffer.concat([files.get(path)!, Buffer.from('more')]);
    await writeFile(join(root, path), changed);
    files.set(path, changed);
    const four = await client.statFile(path);
    assert.equal(four.sha256, sha256(changed));
    assert.notEqual(four.revision, one.revision);
    assert.equal(hashingLines(store, path), 2);

    assert.equal((await client.statFile('empty.bin')).sha256, sha256(Buffer.alloc(0)));
    assert.equal((await client.statFile('sam-link.bin')).sha256, sha256(files.get('models/sam.bin')!), 'a link inside the root is served');
    assert.equal((await client.statFile('yolo-dir-link/v8s.onnx')).sha256, sha256(files.get('models/yolo/v8s.onnx')!));
  });

  test('ReadFile: whole file, middle range, cut at the end, length 0, small chunks, OUT_OF_RANGE', async () => {
    const path = 'models/yolo/v8n.onnx';
    const data = files.get(path)!;
    const whole = await client.read({ path });
    assert.ok(whole.data.equals(data));
    assert.ok(whole.chunks.every((c) => c.data.length <= MiB), 'default chunks of at most 1 MiB');
    assert.equal(whole.chunks.length, 4);

    const middle = await client.read({ path, offset: 1000, length: 2 * MiB });
    assert.ok(middle.data.equals(data.subarray(1000, 1000 + 2 * MiB)));
    assert.equal(middle.chunks[0]!.offset, 1000);

    const cut = await client.read({ path, offset: data.length - 10, length: 1000 });
    assert.ok(cut.data.equals(data.subarray(data.length - 10)));

    const toEnd = await client.read({ path, offset: 5, length: 0 });
    assert.ok(toEnd.data.equals(data.subarray(5)));

    const small = await client.read({ path, offset: 3, length: 100_000, chunkBytes: 4096 });
    assert.ok(small.data.equals(data.subarray(3, 100_003)));
    assert.ok(small.chunks.every((c) => c.data.length <= 4096));
    assert.equal(small.chunks.length, Math.ceil(100_000 / 4096));

    const huge = await client.read({ path, chunkBytes: 64 * MiB });
    assert.ok(huge.chunks.every((c) => c.data.length <= 4 * MiB), 'never more than 4 MiB a chunk');
    assert.ok(huge.data.equals(data));

    assert.equal((await client.read({ path, offset: data.length })).data.length, 0, 'offset at the end: no bytes');
    assert.equal((await client.read({ path: 'empty.bin' })).data.length, 0);
    const details = await expectCode(client.read({ path, offset: data.length + 1 }), [status.OUT_OF_RANGE], 'offset beyond the end');
    assert.match(details, /beyond the end/);
    await expectCode(client.read({ path, offset: -1 }), [status.INVALID_ARGUMENT], 'negative offset');
    await expectCode(client.read({ path, chunkBytes: -1 }), [status.INVALID_ARGUMENT], 'negative chunk_bytes');
  });

  test('traversal and malformed paths: INVALID_ARGUMENT or NOT_FOUND, and the store keeps serving', async () => {
    const invalid = ['../x', '/etc/passwd', 'a/../../x', 'a\u0000b', 'a\\b', '', './a.txt', 'models//sam.bin', 'models/'];
    const notFound = ['etc/passwd', 'etc/hostname', 'passwd-link', 'missing.bin', 'models', 'models/yolo', 'a.txt/x'];
    for (const path of invalid) {
      await expectCode(client.statFile(path), [status.INVALID_ARGUMENT], `StatFile ${JSON.stringify(path)}`);
      await expectCode(client.read({ path }), [status.INVALID_ARGUMENT], `ReadFile ${JSON.stringify(path)}`);
    }
    for (const path of notFound) {
      await expectCode(client.statFile(path), [status.NOT_FOUND], `StatFile ${JSON.stringify(path)}`);
      await expectCode(client.read({ path }), [status.NOT_FOUND], `ReadFile ${JSON.stringify(path)}`);
    }
    const folder = await expectCode(client.statFile('models'), [status.NOT_FOUND], 'a folder');
    assert.match(folder, /folder, not a file/);
    assert.ok(!(await client.listAll()).some((f) => f.path.startsWith('etc/') || f.path === 'passwd-link'), 'links outside are not listed');
    assert.equal((await client.statFile('a.txt')).sha256, sha256(files.get('a.txt')!));
    assert.ok(isRunning(store.pid));
  });

  test('a revision that is not the file\'s: ABORTED "revision changed"; the right one reads', async () => {
    const path = 'models/sam.bin';
    const before = await client.statFile(path);
    assert.ok((await client.read({ path, revision: before.revision })).data.equals(files.get(path)!));
    await expectCode(client.read({ path, revision: 'not-a-revision' }), [status.ABORTED], 'a made-up revision');
    const changed = randomBytes(6000);
    await writeFile(join(root, path), changed);
    files.set(path, changed);
    const details = await expectCode(client.read({ path, revision: before.revision }), [status.ABORTED], 'the old revision');
    assert.match(details, /^revision changed/);
    const now = await client.statFile(path);
    assert.ok((await client.read({ path, revision: now.revision })).data.equals(changed));
  });

  test('back-pressure: a client that stops reading a 256 MiB file costs the store no memory', async () => {
    const path = 'big-256.bin';
    const size = 256 * MiB;
    await putBig(path, size);
    const before = vmRssKb(store.pid);
    const call = client.readStream({ path });
    let received = 0;
    let first = true;
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (chunk: ReadFileResponse) => {
        received += chunk.data.length;
        if (first) {
          first = false;
          call.pause();
        }
      });
      call.on('end', resolve);
      call.on('error', reject);
    });
    await waitUntil(() => received > 0, 10_000, () => 'no first chunk');
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      await sleep(150);
      samples.push(vmRssKb(store.pid));
    }
    const growthMb = (Math.max(...samples) - before) / 1024;
    const stalledAt = received;
    assert.ok(growthMb < 64, `the store's RSS grew by ${growthMb.toFixed(1)} MB while the client paused (samples ${samples.join(' ')} kB, before ${before} kB)`);
    assert.ok(stalledAt < 64 * MiB, `the client had only ${stalledAt} bytes while paused`);
    call.resume();
    await done;
    assert.equal(received, size);
    await rm(join(root, path));
    process.stderr.write(`# back-pressure: RSS before ${before} kB, max while paused ${Math.max(...samples)} kB (+${growthMb.toFixed(1)} MB)\n`);
  });

  test('cancelling a read stops the store reading; it keeps serving', async () => {
    const path = 'big-cancel.bin';
    await putBig(path, 64 * MiB);
    const call = client.readStream({ path, chunkBytes: 64 * 1024 });
    const cancelled = new Promise<number | undefined>((resolve) => call.on('error', (e: { code?: number }) => resolve(e.code)));
    call.once('data', () => call.cancel());
    assert.equal(await cancelled, status.CANCELLED);
    await waitUntil(() => store.stderrLines.some((l) => l.includes('"big-cancel.bin" cancelled')), 5000, () => store.stderrLines.join('\n'));
    assert.equal((await client.statFile('a.txt')).size, files.get('a.txt')!.length);
    await rm(join(root, path));
  });
});

describe('serve-store with a token', { timeout: 60_000 }, () => {
  test('missing or wrong token: UNAUTHENTICATED on every method; the right one works', async (t) => {
    const token = newToken();
    const store = await startStore({ root, token });
    t.after(() => store.stop());
    const none = storeClient(store.address);
    const wrong = storeClient(store.address, newToken());
    const notBearer = storeClient(store.address, undefined, { authorization: token });
    const good = storeClient(store.address, token);
    t.after(() => [none, wrong, notBearer, good].forEach((c) => c.close()));
    for (const [name, client] of [['no token', none], ['wrong token', wrong], ['no Bearer scheme', notBearer]] as const) {
      const details = await expectCode(client.statFile('a.txt'), [status.UNAUTHENTICATED], `${name}: StatFile`);
      assert.ok(!details.includes('discovery file'), `a store-specific message: ${details}`);
      await expectCode(client.listFiles({}), [status.UNAUTHENTICATED], `${name}: ListFiles`);
      await expectCode(client.read({ path: 'a.txt' }), [status.UNAUTHENTICATED], `${name}: ReadFile`);
    }
    assert.equal((await good.statFile('a.txt')).sha256, sha256(files.get('a.txt')!));
    assert.ok((await good.read({ path: 'a.txt' })).data.equals(files.get('a.txt')!));
    assert.ok((await good.listAll()).length > 0);
  });

  test('--token-file: the token comes from the file', async (t) => {
    const token = newToken();
    const dir = await mkdtemp(join(tmpdir(), 'sidestream-store-token-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
    const store = await startStore({ root, args: ['--token-file', join(dir, 'token')] });
    t.after(() => store.stop());
    const good = storeClient(store.address, token);
    const none = storeClient(store.address);
    t.after(() => [good, none].forEach((c) => c.close()));
    assert.equal((await good.statFile('a.txt')).size, files.get('a.txt')!.length);
    await expectCode(none.statFile('a.txt'), [status.UNAUTHENTICATED], 'no token');
  });
});

describe('serve-store with a rate cap', { timeout: 60_000 }, () => {
  test('a 20 MB read at --rate-limit 10 MB/s takes at least 1.8 s', async (t) => {
    const path = 'rate-20mb.bin';
    const data = randomBytes(20_000_000);
    await put(path, data);
    const store = await startStore({ root, rateLimit: 10_000_000 });
    t.after(() => store.stop());
    const client = storeClient(store.address);
    t.after(() => client.close());
    const started = Date.now();
    const { data: read } = await client.read({ path });
    const elapsed = Date.now() - started;
    assert.ok(read.equals(data));
    assert.ok(elapsed >= 1800, `took ${elapsed} ms`);
    process.stderr.write(`# rate cap: 20 MB at 10 MB/s in ${elapsed} ms (${(20_000 / elapsed).toFixed(1)} MB/s)\n`);
  });

  test('a file that changes during a slow read: ABORTED "revision changed", never bytes of two revisions', async (t) => {
    const path = 'changing.bin';
    const data = randomBytes(8 * MiB);
    await put(path, data);
    const store = await startStore({ root, rateLimit: 2_000_000 });
    t.after(() => store.stop());
    const client = storeClient(store.address);
    t.after(() => client.close());
    for (const revision of ['', (await client.statFile(path)).revision]) {
      await writeFile(join(root, path), data);
      await sleep(20);
      const call = client.readStream({ path, revision: revision === '' ? '' : (await client.statFile(path)).revision });
      const chunks: ReadFileResponse[] = [];
      const outcome = new Promise<{ code?: number; details?: string }>((resolve) => {
        call.on('data', (chunk: ReadFileResponse) => chunks.push(chunk));
        call.on('error', resolve);
        call.on('end', () => resolve({}));
      });
      await waitUntil(() => chunks.length > 0, 10_000, () => 'no first chunk');
      await appendFile(join(root, path), Buffer.from('a new revision'));
      const result = await outcome;
      assert.equal(result.code, status.ABORTED, `with revision "${revision}": ${JSON.stringify(result)}`);
      assert.match(result.details ?? '', /^revision changed/);
      const got = Buffer.concat(chunks.map((c) => c.data));
      assert.ok(got.length < data.length, 'cut before the end');
      assert.ok(got.equals(data.subarray(0, got.length)), 'every byte sent is of the first revision');
    }
  });
});

describe('serve-store command line', { timeout: 60_000 }, () => {
  test('serve-store --help documents every flag of its parser', async () => {
    const run = runSidecar(['serve-store', '--help']);
    assert.equal(run.code, 0, run.stderr);
    const source = await readFile(join(repoRoot, 'sidecar', 'cli.ts'), 'utf8');
    const block = /function parseStoreCommand[\s\S]*?parseArgs\(\{[\s\S]*?options: \{([\s\S]*?)\n\s*\},\n/.exec(source)?.[1] ?? '';
    const flags = [...block.matchAll(/^\s*'?([a-z][a-z-]*)'?: \{ type:/gm)].map((m) => `--${m[1]}`);
    assert.ok(flags.length >= 6, `found the flags: ${flags.join(' ')}`);
    for (const flag of flags) assert.match(run.stdout, new RegExp(`^\\s+(-\\w, )?${flag}\\b`, 'm'), `serve-store --help documents ${flag}`);
    assert.match(runSidecar(['--help']).stdout, /serve-store DIR/);
  });

  test('DIR missing, a file, or absent: exit 2 with a message; nothing on stdout', async () => {
    for (const [args, message] of [
      [['serve-store', join(root, 'no-such-folder')], /no such folder/],
      [['serve-store', join(root, 'a.txt')], /not a folder/],
      [['serve-store'], /one folder/],
      [['serve-store', root, '--rate-limit', 'fast'], /--rate-limit/],
      [['serve-store', root, '--token-file', '/nonexistent/token'], /\/nonexistent\/token/],
    ] as const) {
      const run = runSidecar([...args]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, message);
    }
  });

  test('SIGINT exits 0', async () => {
    const store = await startStore({ root });
    store.process.kill('SIGINT');
    assert.deepEqual(await store.exited, { code: 0, signal: null });
  });
});
