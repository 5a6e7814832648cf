// The sidecar process's command line: handshake, --help, --version, token sources, usage errors.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { bearer, connect, ServingStatus } from './helpers/clients';
import { newToken, packageVersion, repoRoot, runSidecar, startSidecar } from './helpers/sidecar';

function canListenOn(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, host, () => server.close(() => resolve(true)));
  });
}

describe('handshake', { timeout: 30_000 }, () => {
  test('exactly one JSON line on stdout: loopback address, the pid, the package version', async (t) => {
    const sidecar = await startSidecar();
    t.after(() => sidecar.kill());

    assert.deepEqual(Object.keys(JSON.parse(sidecar.handshakeLine)).sort(), ['address', 'pid', 'version']);
    assert.match(sidecar.address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(Number(sidecar.address.split(':')[1]), 0, 'the real port, not the requested 0');
    assert.equal(sidecar.pid, sidecar.child.pid);
    assert.equal(sidecar.version, packageVersion);

    sidecar.child.kill('SIGTERM');
    assert.deepEqual(await sidecar.waitForExit(5000), { code: 0, signal: null });
    assert.deepEqual(sidecar.stdoutLines, [sidecar.handshakeLine], 'stdout carries the handshake only; logs go to stderr');
    assert.ok(sidecar.stderrLines.some((line) => line.startsWith('[info] ') && line.includes(sidecar.address)), sidecar.stderrLines.join('\n'));
  });

  test('--listen [::1]:0 reports a bracketed IPv6 address that serves', async (t) => {
    if (!(await canListenOn('::1'))) return t.skip('this machine has no IPv6 loopback');
    const token = newToken();
    const sidecar = await startSidecar({ token, args: ['--listen', '[::1]:0'] });
    t.after(() => sidecar.kill());
    assert.match(sidecar.address, /^\[::1\]:\d+$/);
    const clients = connect(sidecar.address, bearer(token));
    t.after(() => clients.close());
    assert.equal((await clients.check()).status, ServingStatus.SERVING);
  });
});

describe('--help and --version', { timeout: 30_000 }, () => {
  test('--help documents every flag the parser accepts and exits 0', async () => {
    const run = runSidecar(['--help']);
    assert.equal(run.code, 0, run.stderr);
    // The flags as declared in parseCommand's parseArgs options, read from the source so new flags cannot go undocumented.
    const source = await readFile(join(repoRoot, 'sidecar', 'cli.ts'), 'utf8');
    const block = /parseArgs\(\{[\s\S]*?options: \{([\s\S]*?)\n\s*\},\n/.exec(source)?.[1] ?? '';
    const flags = [...block.matchAll(/^\s*'?([a-z][a-z-]*)'?: \{ type:/gm)].map((m) => `--${m[1]}`);
    assert.ok(flags.length >= 8, `found the flags in sidecar/cli.ts: ${flags.join(' ')}`);
    for (const flag of flags) assert.match(run.stdout, new RegExp(`^\\s+(-\\w, )?${flag}\\b`, 'm'), `--help documents ${flag}`);
    assert.match(run.stdout, /^\s+-h, --help/m);
    assert.match(run.stdout, /SIDESTREAM_TOKEN/);
  });

  test('--version prints the package version and exits 0 without a token', () => {
    const run = runSidecar(['--version']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${packageVersion}\n`);
  });
});

describe('usage errors exit 2', { timeout: 30_000 }, () => {
  test('no token: exit 2, a message naming SIDESTREAM_TOKEN, nothing on stdout', () => {
    const run = runSidecar([]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /SIDESTREAM_TOKEN/);
    assert.match(run.stderr, /--token-file/);
  });

  test('a short token: exit 2', () => {
    const run = runSidecar([], { SIDESTREAM_TOKEN: 'short' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /at least 16/);
  });

  test('an unknown flag: exit 2 with the flag and a pointer to --help', () => {
    const run = runSidecar(['--bogus'], { SIDESTREAM_TOKEN: newToken() });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--bogus/);
    assert.match(run.stderr, /--help/);
  });

  test('a bad --listen: exit 2', () => {
    const run = runSidecar(['--listen', '127.0.0.1:70000'], { SIDESTREAM_TOKEN: newToken() });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--listen expects HOST:PORT/);
  });

  test('an address in use: exit 1 with the address', async (t) => {
    const first = await startSidecar();
    t.after(() => first.kill());
    const run = runSidecar(['--listen', first.address], { SIDESTREAM_TOKEN: newToken() });
    assert.equal(run.code, 1);
    assert.ok(run.stderr.includes(`cannot listen on ${first.address}`), run.stderr);
  });
});

describe('--token-file', { timeout: 30_000 }, () => {
  let dir: string;
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the token comes from the file, and SIDESTREAM_TOKEN is then not accepted', async (t) => {
    dir = await mkdtemp(join(tmpdir(), 'sidestream-token-file-'));
    const fileToken = newToken();
    const envToken = newToken();
    const file = join(dir, 'token');
    await writeFile(file, `${fileToken}\n`, { mode: 0o600 });
    const sidecar = await startSidecar({ token: envToken, args: ['--token-file', file] });
    t.after(() => sidecar.kill());

    const good = connect(sidecar.address, bearer(fileToken));
    const envOnly = connect(sidecar.address, bearer(envToken));
    t.after(() => {
      good.close();
      envOnly.close();
    });
    assert.equal((await good.check()).status, ServingStatus.SERVING);
    await assert.rejects(envOnly.check(), { code: 16 });
  });

  test('a missing token file: exit 2 naming the file', () => {
    const run = runSidecar(['--token-file', '/nonexistent/token'], {});
    assert.equal(run.code, 2);
    assert.match(run.stderr, /\/nonexistent\/token/);
  });
});
