import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { FilesError } from './errors';
import { lockStatus } from './fileLock';

/**
 * The model cache on disk, shared by every sidecar (and any other process) that points
 * at the same folder:
 *
 *   v1/blobs/ab/<sha256>        verified files, read-only, one per content
 *   v1/meta/<sha256>.json       last use and pin of a blob
 *   v1/refs/<h(store, path)>/<h(revision)>.json   which blob a store's file was
 *   v1/partial/<sha256>.part    a download in progress (sparse, ranges written in place)
 *   v1/partial/<sha256>.json    how far each range got (see partialState.ts)
 *   v1/locks/<sha256>.lock      who is downloading it (see fileLock.ts)
 *   v1/tmp/                     files being written before an atomic rename
 *
 * No name on disk comes from a store: refs are named by hashes and blobs by a sha256
 * that is checked to be 64 hex digits, so nothing a store says can escape the folder.
 */
export interface FileRef {
  store: string;
  path: string;
  revision: string;
  sha256: string;
  size: number;
  fetchedMs: number;
}

export interface BlobMeta {
  lastUsedMs: number;
  pinned: boolean;
}

export interface CachedBlob {
  sha256: string;
  size: number;
  localPath: string;
  refs: FileRef[];
  meta: BlobMeta;
}

export interface PartialEntry {
  sha256: string;
  size: number;
  bytesDone: number;
  ref: { store: string; path: string; revision: string } | undefined;
  active: boolean;
}

export interface CacheUsage {
  folder: string;
  cachedBytes: number;
  cachedFiles: number;
  partialBytes: number;
  partialFiles: number;
  limitBytes: number;
  freeDiskBytes: number;
}

const sha256Pattern = /^[0-9a-f]{64}$/;

export function isSha256(value: string): boolean {
  return sha256Pattern.test(value);
}

function digestName(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 40);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}

export class ModelCache {
  readonly blobsDir: string;
  readonly metaDir: string;
  readonly refsDir: string;
  readonly partialDir: string;
  readonly locksDir: string;
  readonly tmpDir: string;

  constructor(
    readonly folder: string,
    readonly limitBytes: number,
  ) {
    const root = join(folder, 'v1');
    this.blobsDir = join(root, 'blobs');
    this.metaDir = join(root, 'meta');
    this.refsDir = join(root, 'refs');
    this.partialDir = join(root, 'partial');
    this.locksDir = join(root, 'locks');
    this.tmpDir = join(root, 'tmp');
  }

  async init(): Promise<void> {
    for (const dir of [this.blobsDir, this.metaDir, this.refsDir, this.partialDir, this.locksDir, this.tmpDir]) await mkdir(dir, { recursive: true });
  }

  blobPath(sha256: string): string {
    if (!isSha256(sha256)) throw new FilesError(status.INVALID_ARGUMENT, `"${sha256}" is not a sha256 (64 lowercase hex digits)`);
    return join(this.blobsDir, sha256.slice(0, 2), sha256);
  }

  partialPath(sha256: string): string {
    return join(this.partialDir, `${sha256}.part`);
  }

  partialStatePath(sha256: string): string {
    return join(this.partialDir, `${sha256}.json`);
  }

  lockPath(sha256: string): string {
    return join(this.locksDir, `${sha256}.lock`);
  }

  /** Writes JSON by rename, so readers see the old or the new file, never half of one. */
  async writeJsonAtomic(path: string, value: unknown): Promise<void> {
    const tmp = join(this.tmpDir, `${randomBytes(8).toString('hex')}.json`);
    const handle = await open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(JSON.stringify(value));
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  }

  /** The blob's path when it is in the cache with this size. */
  async findBlob(sha256: string, size: number): Promise<string | undefined> {
    const path = this.blobPath(sha256);
    try {
      const info = await stat(path);
      return info.isFile() && info.size === size ? path : undefined;
    } catch {
      return undefined;
    }
  }

  /** Makes a verified partial file a blob: read-only, then renamed into place (atomic). */
  async publish(sha256: string, partialPath: string): Promise<string> {
    const path = this.blobPath(sha256);
    await mkdir(join(this.blobsDir, sha256.slice(0, 2)), { recursive: true });
    await chmod(partialPath, 0o444);
    await rename(partialPath, path);
    await unlink(this.partialStatePath(sha256)).catch(() => undefined);
    return path;
  }

  async writeRef(ref: FileRef): Promise<void> {
    const dir = join(this.refsDir, digestName(ref.store, ref.path));
    await mkdir(dir, { recursive: true });
    await this.writeJsonAtomic(join(dir, `${digestName(ref.revision)}.json`), ref);
  }

  /** The refs of one store's file, newest fetch first. */
  async refsOf(store: string, path: string): Promise<FileRef[]> {
    const dir = join(this.refsDir, digestName(store, path));
    const refs = await Promise.all((await listDir(dir)).map((name) => readJson<FileRef>(join(dir, name))));
    return refs.filter((ref): ref is FileRef => ref !== undefined).sort((a, b) => b.fetchedMs - a.fetchedMs);
  }

  async allRefs(): Promise<FileRef[]> {
    const refs: FileRef[] = [];
    for (const dir of await listDir(this.refsDir)) {
      for (const name of await listDir(join(this.refsDir, dir))) {
        const ref = await readJson<FileRef>(join(this.refsDir, dir, name));
        if (ref) refs.push(ref);
      }
    }
    return refs;
  }

  async readMeta(sha256: string): Promise<BlobMeta> {
    return (await readJson<BlobMeta>(join(this.metaDir, `${sha256}.json`))) ?? { lastUsedMs: 0, pinned: false };
  }

  /** Records a use (for least-recently-used eviction) and, if asked, pins the blob. */
  async touch(sha256: string, pin: boolean): Promise<void> {
    const meta = await this.readMeta(sha256);
    await this.writeJsonAtomic(join(this.metaDir, `${sha256}.json`), { lastUsedMs: Date.now(), pinned: meta.pinned || pin });
  }

  async listBlobs(): Promise<CachedBlob[]> {
    const refs = await this.allRefs();
    const blobs: CachedBlob[] = [];
    for (const prefix of await listDir(this.blobsDir)) {
      for (const sha256 of await listDir(join(this.blobsDir, prefix))) {
        if (!isSha256(sha256)) continue;
        const localPath = join(this.blobsDir, prefix, sha256);
        const info = await stat(localPath).catch(() => undefined);
        if (!info?.isFile()) continue;
        blobs.push({ sha256, size: info.size, localPath, refs: refs.filter((ref) => ref.sha256 === sha256), meta: await this.readMeta(sha256) });
      }
    }
    return blobs.sort((a, b) => b.meta.lastUsedMs - a.meta.lastUsedMs);
  }

  /** True while some process holds the download lock of this sha256. */
  async isActive(sha256: string): Promise<boolean> {
    return (await lockStatus(this.lockPath(sha256))).state === 'held';
  }

  async listPartials(): Promise<PartialEntry[]> {
    const entries: PartialEntry[] = [];
    for (const name of await listDir(this.partialDir)) {
      if (!name.endsWith('.part')) continue;
      const sha256 = name.slice(0, -'.part'.length);
      if (!isSha256(sha256)) continue;
      const state = await readJson<{ size: number; plan?: { done: number[] }; ref?: PartialEntry['ref'] }>(this.partialStatePath(sha256));
      const bytesDone = state?.plan?.done.reduce((sum, bytes) => sum + bytes, 0) ?? 0;
      entries.push({ sha256, size: state?.size ?? 0, bytesDone, ref: state?.ref, active: await this.isActive(sha256) });
    }
    return entries;
  }

  async usage(): Promise<CacheUsage> {
    const blobs = await this.listBlobs();
    const partials = await this.listPartials();
    const disk = await statfs(this.folder);
    return {
      folder: this.folder,
      cachedBytes: blobs.reduce((sum, blob) => sum + blob.size, 0),
      cachedFiles: blobs.length,
      partialBytes: partials.reduce((sum, partial) => sum + partial.bytesDone, 0),
      partialFiles: partials.length,
      limitBytes: this.limitBytes,
      freeDiskBytes: disk.bavail * disk.bsize,
    };
  }

  async freeDiskBytes(): Promise<number> {
    const disk = await statfs(this.folder);
    return disk.bavail * disk.bsize;
  }

  /** Deletes a blob and the refs that name it. Refuses while it is being fetched. */
  async evict(sha256: string): Promise<number> {
    if (await this.isActive(sha256)) throw new FilesError(status.FAILED_PRECONDITION, `${sha256.slice(0, 12)}… is being fetched; cancel the fetch first`);
    const path = this.blobPath(sha256);
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new FilesError(status.NOT_FOUND, `no cached file has sha256 ${sha256}`);
    for (const ref of (await this.allRefs()).filter((r) => r.sha256 === sha256)) {
      await unlink(join(this.refsDir, digestName(ref.store, ref.path), `${digestName(ref.revision)}.json`)).catch(() => undefined);
    }
    await unlink(path);
    await unlink(join(this.metaDir, `${sha256}.json`)).catch(() => undefined);
    return info.size;
  }

  async deletePartial(sha256: string): Promise<number> {
    const info = await stat(this.partialPath(sha256)).catch(() => undefined);
    await rm(this.partialPath(sha256), { force: true });
    await rm(this.partialStatePath(sha256), { force: true });
    return info ? info.blocks * 512 : 0;
  }

  /**
   * Evicts least-recently-used blobs until `bytes` more fit under the size limit. Pinned
   * blobs, blobs being fetched and `keep` are never evicted; RESOURCE_EXHAUSTED when
   * the rest cannot make room.
   */
  async makeRoom(bytes: number, keep: string): Promise<void> {
    if (this.limitBytes <= 0) return;
    const blobs = await this.listBlobs();
    let used = blobs.reduce((sum, blob) => sum + blob.size, 0);
    if (used + bytes <= this.limitBytes) return;
    const candidates = blobs.filter((blob) => !blob.meta.pinned && blob.sha256 !== keep).sort((a, b) => a.meta.lastUsedMs - b.meta.lastUsedMs);
    for (const blob of candidates) {
      if (used + bytes <= this.limitBytes) break;
      if (await this.isActive(blob.sha256)) continue;
      used -= await this.evict(blob.sha256).catch(() => 0);
    }
    if (used + bytes > this.limitBytes) {
      throw new FilesError(
        status.RESOURCE_EXHAUSTED,
        `the cache limit is ${formatBytes(this.limitBytes)} and ${formatBytes(used)} of it is pinned or in use; a file of ${formatBytes(bytes)} does not fit. Raise sidestream.modelCache.maxSize or evict files.`,
      );
    }
  }

  /** Deletes partials nothing is fetching, and with `allUnpinned` every blob that is not pinned or active. */
  async clean(allUnpinned: boolean): Promise<{ freedBytes: number; removedFiles: number }> {
    let freedBytes = 0;
    let removedFiles = 0;
    for (const partial of await this.listPartials()) {
      if (partial.active) continue;
      freedBytes += await this.deletePartial(partial.sha256);
      removedFiles += 1;
    }
    if (allUnpinned) {
      for (const blob of await this.listBlobs()) {
        if (blob.meta.pinned || (await this.isActive(blob.sha256))) continue;
        freedBytes += await this.evict(blob.sha256).catch(() => 0);
        removedFiles += 1;
      }
    }
    return { freedBytes, removedFiles };
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
