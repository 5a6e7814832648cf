// extension/discovery.ts: the file other programs read to find a running sidecar.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type DiscoveryRecord,
  discoveryDirectory,
  discoveryFilePath,
  removeDiscoveryFile,
  writeDiscoveryFile,
} from '../../extension/discovery';

const record = (overrides: Partial<DiscoveryRecord> = {}): DiscoveryRecord => ({
  format: 1,
  address: '127.0.0.1:40123',
  token: 'a-token-long-enough-for-the-sidecar',
  pid: 4242,
  version: '0.1.0',
  ownerPid: process.pid,
  workspaceFolders: ['/work/project'],
  updatedAt: new Date(0).toISOString(),
  ...overrides,
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('writeDiscoveryFile / removeDiscoveryFile', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sidestream-discovery-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('creates the folders 0700 and the file 0600, holding the record as JSON', async () => {
    const dir = join(root, 'new', 'run');
    const path = join(dir, 'sidecar-1.json');
    await writeDiscoveryFile(path, record());
    assert.equal(await mode(dir), 0o700);
    assert.equal(await mode(join(root, 'new')), 0o700);
    assert.equal(await mode(path), 0o600);
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), record());
  });

  test('replacing a file keeps 0600, even when the old file was world-readable, and leaves no temporary file', async () => {
    const dir = join(root, 'replace');
    const path = join(dir, 'sidecar-2.json');
    await writeDiscoveryFile(path, record());
    await writeFile(path, '{"stale":true}', { mode: 0o644 });
    await writeDiscoveryFile(path, record({ address: '127.0.0.1:50000' }));
    assert.equal(await mode(path), 0o600);
    assert.equal(JSON.parse(await readFile(path, 'utf8')).address, '127.0.0.1:50000');
    assert.deepEqual(await readdir(dir), ['sidecar-2.json']);
  });

  test('a stale world-readable temporary file left by a crash does not loosen the new file', async () => {
    const dir = join(root, 'stale-tmp');
    const path = join(dir, 'sidecar-3.json');
    await writeDiscoveryFile(path, record());
    await writeFile(`${path}.${process.pid}.tmp`, 'left over', { mode: 0o644 });
    await writeDiscoveryFile(path, record());
    assert.equal(await mode(path), 0o600);
    assert.deepEqual(await readdir(dir), ['sidecar-3.json']);
  });

  test('removeDiscoveryFile removes it, and a second removal is fine', async () => {
    const path = join(root, 'remove', 'sidecar-4.json');
    await writeDiscoveryFile(path, record());
    await removeDiscoveryFile(path);
    await assert.rejects(stat(path), { code: 'ENOENT' });
    await removeDiscoveryFile(path);
  });
});

describe('discoveryDirectory', () => {
  test('SIDESTREAM_RUNTIME_DIR comes first', () => {
    assert.equal(discoveryDirectory({ SIDESTREAM_RUNTIME_DIR: '/custom/run', XDG_RUNTIME_DIR: '/run/user/1000' }), '/custom/run');
  });

  test('then XDG_RUNTIME_DIR/sidestream on Linux', { skip: process.platform !== 'linux' }, () => {
    assert.equal(discoveryDirectory({ XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/sidestream');
  });

  test('then ~/.sidestream/run', { skip: process.platform === 'win32' }, () => {
    assert.equal(discoveryDirectory({}), join(homedir(), '.sidestream', 'run'));
    assert.equal(discoveryDirectory({ SIDESTREAM_RUNTIME_DIR: '' }), join(homedir(), '.sidestream', 'run'));
  });

  test('the file is named after this process', () => {
    assert.equal(discoveryFilePath({ SIDESTREAM_RUNTIME_DIR: '/custom/run' }), join('/custom/run', `sidecar-${process.pid}.json`));
  });
});
