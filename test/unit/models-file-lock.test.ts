import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { bootId, breakStaleLock, lockStatus, tryLock } from '../../sidecar/files/fileLock';

const dir = mkdtempSync(join(tmpdir(), 'sidestream-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('cache file locks', () => {
  test('one holder at a time; release frees it', async () => {
    const path = join(dir, 'one.lock');
    const first = await tryLock(path);
    assert.ok(first);
    assert.equal(await tryLock(path), undefined);
    assert.equal((await lockStatus(path)).state, 'held', 'a live holder is not stale');
    await first.release();
    const second = await tryLock(path);
    assert.ok(second);
    await second.release();
    assert.equal((await lockStatus(path)).state, 'free');
  });

  test('a lock of a dead process on this machine is stale, and is broken once', async () => {
    const path = join(dir, 'dead.lock');
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const pid = Number(dead.stdout.trim());
    writeFileSync(path, JSON.stringify({ pid, host: hostname(), bootId, nonce: 'old', startedMs: Date.now() }));
    const status = await lockStatus(path);
    assert.equal(status.state, 'stale');
    assert.match(status.state === 'stale' ? status.reason : '', new RegExp(`pid ${pid}, is not running`));
    assert.equal(await breakStaleLock(path, 'another-nonce'), false, 'not the lock that was seen stale');
    assert.equal(await breakStaleLock(path, 'old'), true);
    assert.ok(await tryLock(path).then((lock) => lock?.release().then(() => true)));
  });

  test('a lock whose heartbeat stopped is stale even if its pid is alive (another machine, or a hung process)', async () => {
    const path = join(dir, 'hung.lock');
    writeFileSync(path, JSON.stringify({ pid: 1, host: 'elsewhere', bootId: 'x', nonce: 'n', startedMs: 0 }));
    assert.equal((await lockStatus(path, 30_000)).state, 'held', 'fresh');
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const status = await lockStatus(path, 30_000);
    assert.match(status.state === 'stale' ? status.reason : '', /stopped refreshing it/);
  });

  test('release never removes a lock that another process has taken since', async () => {
    const path = join(dir, 'taken.lock');
    const mine = await tryLock(path);
    assert.ok(mine);
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), nonce: 'theirs' }));
    await mine.release();
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).nonce, 'theirs');
  });
});
