// The language-agnostic proof for model files: examples/python/fetch_model.py, a real Python
// gRPC client (Debian's python3-grpcio, stubs generated at test time by examples/python/gen_stubs.py
// with protoc + grpc_python_plugin), fetches files through the real sidecar from the real store.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ModelsTestClient, writeRandomFile } from './helpers/models';
import { discoveryRecord, explainRun, generateStubs, pythonTools, type Run, runExample } from './helpers/python';
import { newToken, type RunningSidecar, startSidecar } from './helpers/sidecar';
import { type RunningStore, startStore } from './helpers/store';

const MiB = 1024 * 1024;
const BIG = 24 * MiB + 321;
const sha256Of = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('a Python program fetches model files through the sidecar (examples/python)', { timeout: 120_000 }, () => {
  let work: string;
  let stubs: string;
  let store: RunningStore;
  let sidecar: RunningSidecar;
  let client: ModelsTestClient;
  let bigSha: string;
  let smallSha: string;
  let discovery: string;
  const token = newToken();
  const storeToken = 'store-token';
  const tools = pythonTools('the Python models test');

  const record = (overrides: Record<string, unknown> = {}) => discoveryRecord(sidecar, token, overrides);

  /** Runs fetch_model.py with the stubs generated for this test and a clean SIDESTREAM_* environment. */
  function fetchModel(args: string[], env: NodeJS.ProcessEnv = { SIDESTREAM_DISCOVERY_FILE: discovery }): Promise<Run> {
    return runExample('fetch_model.py', stubs, args, env);
  }

    before(async () => {
    if (!tools.check()) return;
    work = mkdtempSync(join(tmpdir(), 'sidestream-python-models-'));
    stubs = join(work, 'stubs');
    await generateStubs(stubs);

    const storeRoot = join(work, 'store');
    mkdirSync(join(storeRoot, 'models'), { recursive: true });
    bigSha = await writeRandomFile(join(storeRoot, 'models', 'big.bin'), BIG);
    writeFileSync(join(storeRoot, 'small.txt'), 'a small model card\n');
    smallSha = sha256Of(join(storeRoot, 'small.txt'));
    store = await startStore({ root: storeRoot, token: storeToken });

    sidecar = await startSidecar({ token, args: ['--cache-dir', join(work, 'cache'), '--no-parent-watch'] });
    client = new ModelsTestClient(sidecar.address, token);
    // The named store is configured the way the extension does it: Python only names it.
    await client.setStores([{ name: 'team', address: store.address, token: storeToken }]);

    discovery = join(work, 'discovery.json');
    writeFileSync(discovery, record(), { mode: 0o600 });
  });

  after(async () => {
    client?.close();
    sidecar?.kill();
    await store?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('a named store set by another client: progress on stderr, the local path on stdout, sha256 checked', async () => {
    tools.require();
    // 12 MB/s makes the 24 MiB fetch last about 2 s, so that progress lines are printed.
    const result = await fetchModel(['--store', 'team', 'models/big.bin', '--max-rate', '12']);
    assert.equal(result.code, 0, explainRun(result));
    const localPath = result.stdout.trim();
    assert.equal(result.stdout, `${localPath}\n`, 'stdout is the local path alone');
    assert.ok(localPath.startsWith(join(work, 'cache')), localPath);
    assert.equal(sha256Of(localPath), bigSha);
    assert.match(result.stderr, /downloading\s+\d+\.\d%\s+[\d.]+\/24\.0 MiB\s+[\d.]+ MB\/s/, result.stderr);
    assert.match(result.stderr, /24\.0 MiB fetched; sha256 ([0-9a-f]{64}) verified/);
    assert.ok(result.stderr.includes(bigSha), 'the verified sha256 is the source file\'s');
  });

  test('the second run comes from the cache, same path', async () => {
    tools.require();
    const first = await fetchModel(['--store', 'team', 'models/big.bin']);
    const second = await fetchModel(['--store', 'team', 'models/big.bin', '--verify']);
    for (const r of [first, second]) {
      assert.equal(r.code, 0, explainRun(r));
      assert.match(r.stderr, /from the cache \(no byte fetched\)/);
    }
    assert.equal(second.stdout, first.stdout);
    assert.equal(sha256Of(first.stdout.trim()), bigSha);
  });

  test('an inline store (address and token given by the Python program)', async () => {
    tools.require();
    const result = await fetchModel(['--store-address', store.address, '--store-token', storeToken, 'small.txt']);
    assert.equal(result.code, 0, explainRun(result));
    assert.equal(sha256Of(result.stdout.trim()), smallSha);
    assert.equal(readFileSync(result.stdout.trim(), 'utf8'), 'a small model card\n');
  });

  test('an inline store with a wrong store token: exit 1, UNAUTHENTICATED', async () => {
    tools.require();
    const result = await fetchModel(['--store-address', store.address, '--store-token', 'wrong', 'small.txt']);
    assert.equal(result.code, 1, explainRun(result));
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /fetch_model: UNAUTHENTICATED: /);
  });

  test('the default discovery folder ($SIDESTREAM_RUNTIME_DIR/sidecar-<pid>.json)', async () => {
    tools.require();
    const runtime = join(work, 'runtime');
    mkdirSync(runtime, { mode: 0o700, recursive: true });
    writeFileSync(join(runtime, `sidecar-${process.pid}.json`), record(), { mode: 0o600 });
    // A file left by a window whose sidecar is gone is skipped.
    writeFileSync(join(runtime, 'sidecar-1.json'), record({ address: '127.0.0.1:1', pid: 2 ** 22 + 7 }), { mode: 0o600 });
    const result = await fetchModel(['--store', 'team', 'small.txt'], { SIDESTREAM_RUNTIME_DIR: runtime });
    assert.equal(result.code, 0, explainRun(result));
    assert.equal(sha256Of(result.stdout.trim()), smallSha);
  });

  test('a wrong sidecar token: exit 1, UNAUTHENTICATED', async () => {
    tools.require();
    const wrong = join(work, 'wrong-token.json');
    writeFileSync(wrong, record({ token: newToken() }), { mode: 0o600 });
    const result = await fetchModel(['--store', 'team', 'small.txt'], { SIDESTREAM_DISCOVERY_FILE: wrong });
    assert.equal(result.code, 1, explainRun(result));
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /fetch_model: UNAUTHENTICATED: /);
  });

  test('an unknown store: exit 1, NOT_FOUND with the sidecar\'s message', async () => {
    tools.require();
    const result = await fetchModel(['--store', 'nope', 'small.txt']);
    assert.equal(result.code, 1, explainRun(result));
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /fetch_model: NOT_FOUND: no model store is named "nope"; known: team/);
  });

  test('usage and setup errors: exit 2', async () => {
    tools.require();
    const noStore = await fetchModel(['small.txt']);
    assert.equal(noStore.code, 2, explainRun(noStore));
    assert.match(noStore.stderr, /one of the arguments --store --store-address is required/);
    const noDiscovery = await fetchModel(['--store', 'team', 'small.txt'], { SIDESTREAM_DISCOVERY_FILE: join(work, 'nope.json') });
    assert.equal(noDiscovery.code, 2, explainRun(noDiscovery));
    assert.match(noDiscovery.stderr, /cannot use the discovery file/);
    const emptyRuntime = join(work, 'empty-runtime');
    mkdirSync(emptyRuntime, { recursive: true });
    const noSidecar = await fetchModel(['--store', 'team', 'small.txt'], { SIDESTREAM_RUNTIME_DIR: emptyRuntime });
    assert.equal(noSidecar.code, 2, explainRun(noSidecar));
    assert.match(noSidecar.stderr, /no running sidecar/);
  });

  test('the sidecar is still serving after all that', async () => {
    tools.require();
    const usage = await client.usage();
    assert.ok(usage.cachedFiles >= 2, JSON.stringify(usage));
  });
});
