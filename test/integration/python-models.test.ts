// The language-agnostic proof for model files: examples/python/fetch_model.py, a real Python
// gRPC client (Debian's python3-grpcio, stubs generated at test time by examples/python/gen_stubs.py
// with protoc + grpc_python_plugin), fetches files through the real sidecar from the real store.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ModelsTestClient, writeRandomFile } from './helpers/models';
import { cleanEnv, newToken, repoRoot, type RunningSidecar, startSidecar } from './helpers/sidecar';
import { type RunningStore, startStore } from './helpers/store';

// Debian's interpreter: the `python3` on PATH may be another build without Debian's python3-grpcio.
const python = '/usr/bin/python3';
const example = join(repoRoot, 'examples', 'python');
const debianPackages = 'apt-get install python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc';
const MiB = 1024 * 1024;
const BIG = 24 * MiB + 321;
const sha256Of = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program without blocking the event loop (the store and sidecar log into pipes read here). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What is missing to run this test, naming the Debian packages; '' when nothing is. */
function missingTools(): string {
  const missing: string[] = [];
  // gen_stubs.py finds both on PATH; a missing program fails to spawn (ENOENT).
  if (spawnSync('protoc', ['--version']).status !== 0) missing.push('protoc (protobuf-compiler)');
  if (spawnSync('grpc_python_plugin', ['--help']).error) missing.push('grpc_python_plugin (protobuf-compiler-grpc)');
  const imports = spawnSync(python, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' });
  if (imports.status !== 0) missing.push(`grpc for ${python} (python3-grpcio, python3-protobuf): ${(imports.stderr ?? String(imports.error)).trim().split('\n').pop()}`);
  return missing.length > 0 ? `the Python models test needs ${missing.join('; ')}. Debian: ${debianPackages}` : '';
}

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
  // Missing tools fail every test here with the packages to install: never a silent skip.
  let missing = '';
  const requireTools = () => {
    if (missing) assert.fail(missing);
  };

  const record = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify({ format: 1, address: sidecar.address, token, pid: sidecar.pid, version: sidecar.version, ownerPid: process.pid, workspaceFolders: [], updatedAt: new Date().toISOString(), ...overrides });

  /** Runs fetch_model.py with the stubs generated for this test and a clean SIDESTREAM_* environment. */
  function fetchModel(args: string[], env: NodeJS.ProcessEnv = { SIDESTREAM_DISCOVERY_FILE: discovery }): Promise<Run> {
    return run(python, [join(example, 'fetch_model.py'), ...args], cleanEnv({ PYTHONPATH: stubs, ...env }));
  }

  const explain = (r: Run) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

  before(async () => {
    missing = missingTools();
    if (missing) return;
    work = mkdtempSync(join(tmpdir(), 'sidestream-python-models-'));
    stubs = join(work, 'stubs');
    const generated = await run(python, [join(example, 'gen_stubs.py'), stubs], cleanEnv());
    assert.equal(generated.code, 0, `gen_stubs.py failed: ${explain(generated)}`);

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
    requireTools();
    // 12 MB/s makes the 24 MiB fetch last about 2 s, so that progress lines are printed.
    const result = await fetchModel(['--store', 'team', 'models/big.bin', '--max-rate', '12']);
    assert.equal(result.code, 0, explain(result));
    const localPath = result.stdout.trim();
    assert.equal(result.stdout, `${localPath}\n`, 'stdout is the local path alone');
    assert.ok(localPath.startsWith(join(work, 'cache')), localPath);
    assert.equal(sha256Of(localPath), bigSha);
    assert.match(result.stderr, /downloading\s+\d+\.\d%\s+[\d.]+\/24\.0 MiB\s+[\d.]+ MB\/s/, result.stderr);
    assert.match(result.stderr, /24\.0 MiB fetched; sha256 ([0-9a-f]{64}) verified/);
    assert.ok(result.stderr.includes(bigSha), 'the verified sha256 is the source file\'s');
  });

  test('the second run comes from the cache, same path', async () => {
    requireTools();
    const first = await fetchModel(['--store', 'team', 'models/big.bin']);
    const second = await fetchModel(['--store', 'team', 'models/big.bin', '--verify']);
    for (const r of [first, second]) {
      assert.equal(r.code, 0, explain(r));
      assert.match(r.stderr, /from the cache \(no byte fetched\)/);
    }
    assert.equal(second.stdout, first.stdout);
    assert.equal(sha256Of(first.stdout.trim()), bigSha);
  });

  test('an inline store (address and token given by the Python program)', async () => {
    requireTools();
    const result = await fetchModel(['--store-address', store.address, '--store-token', storeToken, 'small.txt']);
    assert.equal(result.code, 0, explain(result));
    assert.equal(sha256Of(result.stdout.trim()), smallSha);
    assert.equal(readFileSync(result.stdout.trim(), 'utf8'), 'a small model card\n');
  });

  test('an inline store with a wrong store token: exit 1, UNAUTHENTICATED', async () => {
    requireTools();
    const result = await fetchModel(['--store-address', store.address, '--store-token', 'wrong', 'small.txt']);
    assert.equal(result.code, 1, explain(result));
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /fetch_model: UNAUTHENTICATED: /);
  });

  test('the default discovery folder ($SIDESTREAM_RUNTIME_DIR/sidecar-<pid>.json)', async () => {
    requireTools();
    const runtime = join(work, 'runtime');
    mkdirSync(runtime, { mode: 0o700, recursive: true });
    writeFileSync(join(runtime, `sidecar-${process.pid}.json`), record(), { mode: 0o600 });
    // A file left by a window whose sidecar is gone is skipped.
    writeFileSync(join(runtime, 'sidecar-1.json'), record({ address: '127.0.0.1:1', pid: 2 ** 22 + 7 }), { mode: 0o600 });
    const result = await fetchModel(['--store', 'team', 'small.txt'], { SIDESTREAM_RUNTIME_DIR: runtime });
    assert.equal(result.code, 0, explain(result));
    assert.equal(sha256Of(result.stdout.trim()), smallSha);
  });

  test('a wrong sidecar token: exit 1, UNAUTHENTICATED', async () => {
    requireTools();
    const wrong = join(work, 'wrong-token.json');
    writeFileSync(wrong, record({ token: newToken() }), { mode: 0o600 });
    const result = await fetchModel(['--store', 'team', 'small.txt'], { SIDESTREAM_DISCOVERY_FILE: wrong });
    assert.equal(result.code, 1, explain(result));
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /fetch_model: UNAUTHENTICATED: /);
  });

  test('an unknown store: exit 1, NOT_FOUND with the sidecar\'s message', async () => {
    requireTools();
    const result = await fetchModel(['--store', 'nope', 'small.txt']);
    assert.equal(result.code, 1, explain(result));
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /fetch_model: NOT_FOUND: no model store is named "nope"; known: team/);
  });

  test('usage and setup errors: exit 2', async () => {
    requireTools();
    const noStore = await fetchModel(['small.txt']);
    assert.equal(noStore.code, 2, explain(noStore));
    assert.match(noStore.stderr, /one of the arguments --store --store-address is required/);
    const noDiscovery = await fetchModel(['--store', 'team', 'small.txt'], { SIDESTREAM_DISCOVERY_FILE: join(work, 'nope.json') });
    assert.equal(noDiscovery.code, 2, explain(noDiscovery));
    assert.match(noDiscovery.stderr, /cannot use the discovery file/);
    const emptyRuntime = join(work, 'empty-runtime');
    mkdirSync(emptyRuntime, { recursive: true });
    const noSidecar = await fetchModel(['--store', 'team', 'small.txt'], { SIDESTREAM_RUNTIME_DIR: emptyRuntime });
    assert.equal(noSidecar.code, 2, explain(noSidecar));
    assert.match(noSidecar.stderr, /no running sidecar/);
  });

  test('the sidecar is still serving after all that', async () => {
    requireTools();
    const usage = await client.usage();
    assert.ok(usage.cachedFiles >= 2, JSON.stringify(usage));
  });
});
