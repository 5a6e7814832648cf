import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';

/**
 * A lock on one file of the cache, shared by every process that uses the cache: a
 * lock file created exclusively (O_EXCL), naming its owner, whose mtime the owner
 * refreshes while it holds it. A lock whose owner is dead (same machine and boot, pid
 * gone) or whose heartbeat stopped (`staleMs`) is taken over, so nobody waits forever.
 */
export interface LockOwner {
  pid: number;
  host: string;
  bootId: string;
  nonce: string;
  startedMs: number;
}

export const heartbeatMs = 2000;
export const defaultStaleMs = 30_000;

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** Names this boot of this machine: partial files use it to tell a reboot from a killed process. */
export const bootId = readBootId();

export class FileLock {
  private readonly heartbeat: NodeJS.Timeout;
  private released = false;

  constructor(
    readonly path: string,
    readonly owner: LockOwner,
  ) {
    this.heartbeat = setInterval(() => {
      const now = new Date();
      utimes(this.path, now, now).catch(() => undefined);
    }, heartbeatMs);
    this.heartbeat.unref();
  }

  /** Removes the lock file if it is still this lock's. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.heartbeat);
    const current = await readLockOwner(this.path);
    if (current?.nonce === this.owner.nonce) await unlink(this.path).catch(() => undefined);
  }
}

export async function readLockOwner(path: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/** Creates the lock file; undefined when another process holds it. */
export async function tryLock(path: string): Promise<FileLock | undefined> {
  const owner: LockOwner = { pid: process.pid, host: hostname(), bootId, nonce: randomBytes(12).toString('hex'), startedMs: Date.now() };
  let handle;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  try {
    await handle.writeFile(JSON.stringify(owner));
  } finally {
    await handle.close();
  }
  return new FileLock(path, owner);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type LockStatus =
  | { state: 'free' }
  | { state: 'held'; owner: LockOwner | undefined }
  | { state: 'stale'; owner: LockOwner | undefined; reason: string };

/** Whether the lock at `path` is free, held, or stale (its owner is gone; `reason` says how it was told). */
export async function lockStatus(path: string, staleMs = defaultStaleMs): Promise<LockStatus> {
  let modifiedMs: number;
  try {
    modifiedMs = (await stat(path)).mtimeMs;
  } catch {
    return { state: 'free' };
  }
  const owner = await readLockOwner(path);
  const stale = (reason: string): LockStatus => ({ state: 'stale', owner, reason });
  if (!owner) {
    // Being written right now, or garbage left by a crash between create and write.
    return Date.now() - modifiedMs > 5000 ? stale('the lock file is unreadable') : { state: 'held', owner };
  }
  if (owner.host === hostname() && owner.bootId === bootId && owner.pid !== process.pid && !isProcessAlive(owner.pid)) {
    return stale(`its owner, pid ${owner.pid}, is not running`);
  }
  if (Date.now() - modifiedMs > staleMs) return stale(`its owner (pid ${owner.pid} on ${owner.host}) stopped refreshing it ${Math.round((Date.now() - modifiedMs) / 1000)} s ago`);
  return { state: 'held', owner };
}

/**
 * Removes a stale lock so that `tryLock` can be called again. Two processes that both
 * see it stale go through a second exclusive file, so only one removes it, and it
 * checks that the lock is still the stale one (not a fresh lock of the other).
 */
export async function breakStaleLock(path: string, staleOwnerNonce: string | undefined): Promise<boolean> {
  const breaker = `${path}.breaking`;
  let handle;
  try {
    handle = await open(breaker, 'wx');
  } catch {
    const since = await stat(breaker).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (since > 10_000) await unlink(breaker).catch(() => undefined);
    return false;
  }
  try {
    await handle.close();
    const current = await readLockOwner(path);
    if (current?.nonce !== staleOwnerNonce) return false;
    await unlink(path).catch(() => undefined);
    return true;
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}
