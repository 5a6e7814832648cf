// The language-agnostic promise: a real Python gRPC client (Debian's python3-grpcio),
// with stubs generated at test time by protoc, talks to the sidecar through its discovery file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { python, pythonTools } from './helpers/python';
import { newToken, packageVersion, repoRoot, type RunningSidecar, startSidecar } from './helpers/sidecar';

// Debian's (protobuf-compiler, protobuf-compiler-grpc); protoc runs a plugin by its path.
const protoc = '/usr/bin/protoc';
const grpcPythonPlugin = '/usr/bin/grpc_python_plugin';
const clientScript = join(__dirname, 'python', 'sidecar_client.py');

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(command, args, { cwd: repoRoot, encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
}

/**
 * Generates the Python stubs into `dir`. The health proto is generated as grpc_health/v1
 * (as the grpcio-health-checking package names it): a generated grpc/ folder would hide grpcio's `grpc`.
 */
async function generateStubs(dir: string): Promise<void> {
  const protos = join(dir, 'protos');
  await mkdir(join(protos, 'grpc_health', 'v1'), { recursive: true });
  await copyFile(join(repoRoot, 'proto', 'grpc', 'health', 'v1', 'health.proto'), join(protos, 'grpc_health', 'v1', 'health.proto'));
  const result = run(protoc, [
    '-I', join(repoRoot, 'proto'),
    '-I', protos,
    `--python_out=${dir}`,
    `--grpc_python_out=${dir}`,
    `--plugin=protoc-gen-grpc_python=${grpcPythonPlugin}`,
    'grpc_health/v1/health.proto',
    'sidestream/v1/sidecar.proto',
  ]);
  assert.equal(result.status, 0, `protoc failed:\n${result.stderr}`);
}

describe('a Python gRPC client', { timeout: 30_000 }, () => {
  let dir: string;
  let sidecar: RunningSidecar;
  const token = newToken();
  const tools = pythonTools('the Python client test');

  before(async () => {
    if (!tools.check()) return;
    dir = await mkdtemp(join(tmpdir(), 'sidestream-python-'));
    await generateStubs(join(dir, 'stubs'));
    sidecar = await startSidecar({ token });
  });
  after(async () => {
    sidecar?.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function discoveryFile(name: string, record: Record<string, unknown>): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify(record), { mode: 0o600 });
    return path;
  }

  function runClient(args: string[], env: NodeJS.ProcessEnv = {}) {
    return run(python, [clientScript, ...args], { PYTHONPATH: join(dir, 'stubs'), ...env });
  }

  test('with the token from the discovery file: SERVING and the sidecar info', async () => {
    tools.require();
    const path = await discoveryFile('with-token.json', {
      format: 1,
      address: sidecar.address,
      token,
      pid: sidecar.pid,
      version: sidecar.version,
    });
    const result = runClient([path]);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const output = JSON.parse(result.stdout);
    assert.equal(output.health, 'SERVING');
    assert.equal(output.info.pid, sidecar.pid);
    assert.equal(output.info.version, packageVersion);
    assert.equal(output.info.address, sidecar.address);
    assert.ok(output.info.uptime_seconds > 0);
    assert.equal(output.info.ffmpeg.path, '/usr/bin/ffmpeg');
    assert.ok(output.info.capabilities.includes('health') && output.info.capabilities.includes('info'), output.info.capabilities);
  });

  test('the discovery file can come from SIDESTREAM_DISCOVERY_FILE', async () => {
    tools.require();
    const path = await discoveryFile('from-env.json', { address: sidecar.address, token });
    const result = runClient([], { SIDESTREAM_DISCOVERY_FILE: path });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.equal(JSON.parse(result.stdout).info.pid, sidecar.pid);
  });

  test('without the token: UNAUTHENTICATED', async () => {
    tools.require();
    const path = await discoveryFile('without-token.json', { address: sidecar.address });
    const result = runClient([path]);
    assert.equal(result.status, 1, `${result.stdout}\n${result.stderr}`);
    const { error } = JSON.parse(result.stdout);
    assert.equal(error.code, 'UNAUTHENTICATED');
    assert.match(error.details, /authorization/);
  });

  test('with a wrong token: UNAUTHENTICATED', async () => {
    tools.require();
    const path = await discoveryFile('wrong-token.json', { address: sidecar.address, token: newToken() });
    const result = runClient([path]);
    assert.equal(result.status, 1);
    assert.equal(JSON.parse(result.stdout).error.code, 'UNAUTHENTICATED');
  });

  test('a missing discovery file: exit 2 with a message', () => {
    tools.require();
    const result = runClient([join(dir, 'nope.json')]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /cannot use the discovery file/);
  });
});
