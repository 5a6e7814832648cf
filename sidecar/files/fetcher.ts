import { status } from '@grpc/grpc-js';
import type { ModelStore } from '../../proto/gen/sidestream/v1/models';
import { log } from '../log';
import { type ModelCache, formatBytes, isSha256 } from './cache';
import { bytesDone } from './chunkPlan';
import { type DownloadSettings, RangeDownload, type RemoteFile, RevisionChangedError } from './downloader';
import { FilesError } from './errors';
import { breakStaleLock, lockStatus, tryLock } from './fileLock';
import { sha256OfFile } from './hashFile';
import { loadPartialPlan } from './partialState';
import type { StoreConnections } from './storeClients';
import { checkStorePath } from './storePaths';

export type FetchStateName = 'resolving' | 'waiting' | 'downloading' | 'verifying' | 'done';

export interface FetchProgress {
  state: FetchStateName;
  bytesDone: number;
  bytesTotal: number;
  bytesReceived: number;
  restarts: number;
  message: string;
}

export interface FetchResult {
  localPath: string;
  sha256: string;
  size: number;
  fromCache: boolean;
  bytesReceived: number;
  restarts: number;
}

export interface FetchRequest {
  store: ModelStore;
  path: string;
  settings: DownloadSettings;
  pin: boolean;
  verify: boolean;
}

/** Room kept free on the cache's disk beyond the file itself. */
const diskMarginBytes = 16 * 1024 * 1024;
const lockPollMs = 100;
const progressTickMs = 100;
/** A store whose file keeps changing while it is read gets this many fresh starts. */
const maxRevisionRestarts = 3;

const cancelled = () => new FilesError(status.CANCELLED, 'the fetch was cancelled; the partial file is kept and the next fetch resumes it');

/** One download of one sha256 in this process, shared by every fetch that wants it. */
class SharedDownload {
  readonly listeners = new Set<(progress: FetchProgress) => void>();
  readonly controller = new AbortController();
  participants = 0;
  progress: FetchProgress;
  readonly result: Promise<FetchResult>;

  constructor(
    private readonly cache: ModelCache,
    private readonly request: FetchRequest,
    private readonly file: RemoteFile,
    private readonly connections: StoreConnections,
  ) {
    this.progress = { state: 'waiting', bytesDone: 0, bytesTotal: file.size, bytesReceived: 0, restarts: 0, message: '' };
    this.result = this.run();
    this.result.catch(() => undefined);
  }

  emit(update: Partial<FetchProgress>): void {
    this.progress = { ...this.progress, ...update };
    for (const listener of this.listeners) listener(this.progress);
  }

  join(listener: (progress: FetchProgress) => void, signal: AbortSignal): Promise<FetchResult> {
    this.participants += 1;
    this.listeners.add(listener);
    listener(this.progress);
    return new Promise<FetchResult>((resolve, reject) => {
      const leave = () => {
        this.listeners.delete(listener);
        this.participants -= 1;
        if (this.participants === 0) this.controller.abort();
        reject(cancelled());
      };
      if (signal.aborted) return leave();
      signal.addEventListener('abort', leave, { once: true });
      this.result.then(
        (value) => {
          signal.removeEventListener('abort', leave);
          this.listeners.delete(listener);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', leave);
          this.listeners.delete(listener);
          reject(error);
        },
      );
    });
  }

  private async run(): Promise<FetchResult> {
    const { cache, file } = this;
    const signal = this.controller.signal;
    const lockPath = cache.lockPath(file.sha256);
    for (;;) {
      if (signal.aborted) throw cancelled();
      const existing = await cache.findBlob(file.sha256, file.size);
      if (existing) return { localPath: existing, sha256: file.sha256, size: file.size, fromCache: true, bytesReceived: 0, restarts: 0 };
      const lock = await tryLock(lockPath);
      if (!lock) {
        const held = await lockStatus(lockPath);
        if (held.state !== 'held') {
          if (held.state === 'stale') {
            log.warn(`models: taking over the download of ${file.path} (${file.sha256.slice(0, 12)}…): ${held.reason}`);
            // Another process breaking it at the same moment: give it time.
            if (!(await breakStaleLock(lockPath, held.owner?.nonce))) await new Promise((resolve) => setTimeout(resolve, lockPollMs));
          }
          continue;
        }
        const owner = held.owner;
        const theirs = await loadPartialPlan(cache, file.sha256, file.size);
        this.emit({
          state: 'waiting',
          bytesDone: theirs ? bytesDone(theirs.plan) : 0,
          message: `another process (pid ${owner?.pid ?? '?'}${owner && owner.pid === process.pid ? ', this sidecar' : ''}) is fetching this file; waiting for it`,
        });
        await new Promise((resolve) => setTimeout(resolve, lockPollMs));
        continue;
      }
      try {
        const again = await cache.findBlob(file.sha256, file.size);
        if (again) return { localPath: again, sha256: file.sha256, size: file.size, fromCache: true, bytesReceived: 0, restarts: 0 };
        return await this.download();
      } finally {
        await lock.release();
      }
    }
  }

  private async download(): Promise<FetchResult> {
    const { cache, file, request } = this;
    const resumed = await loadPartialPlan(cache, file.sha256, file.size);
    const needed = file.size - (resumed ? bytesDone(resumed.plan) : 0);
    const free = await cache.freeDiskBytes();
    if (free < needed + diskMarginBytes) {
      throw new FilesError(
        status.RESOURCE_EXHAUSTED,
        `not enough disk space for ${file.path}: it needs ${formatBytes(needed)} more and ${formatBytes(free)} is free in ${cache.folder}. Free some space or set sidestream.modelCache.folder to a bigger disk.`,
      );
    }
    await cache.makeRoom(file.size, file.sha256);

    const { landed, counters } = await this.connections.use(request.store, async (connection) => {
      const download = new RangeDownload(cache, connection, file, request.settings, this.controller.signal);
      const ticker = setInterval(() => {
        const { bytesDone: done, bytesReceived, restarts } = download.counters;
        this.emit({ state: 'downloading', bytesDone: done, bytesReceived, restarts });
      }, progressTickMs);
      try {
        this.emit({ state: 'downloading', message: resumed ? `resuming at ${formatBytes(bytesDone(resumed.plan))}` : '' });
        return { landed: await download.run(), counters: download.counters };
      } finally {
        clearInterval(ticker);
      }
    });
    const { bytesReceived, restarts } = counters;
    this.emit({ state: 'verifying', bytesDone: file.size, bytesReceived, restarts, message: 'checking the sha256' });
    const { partialPath, sha256: actual } = landed;
    if (actual !== file.sha256) {
      await cache.deletePartial(file.sha256);
      throw new FilesError(
        status.DATA_LOSS,
        `${file.path} from store "${file.store}" does not match its sha256: expected ${file.sha256}, got ${actual}. The partial file was deleted; fetch again to download it afresh.`,
      );
    }
    const localPath = await cache.publish(file.sha256, partialPath);
    log.info(`models: fetched ${file.store}:${file.path} (${formatBytes(file.size)}, ${file.sha256.slice(0, 12)}…, ${formatBytes(bytesReceived)} received, ${restarts} restarts)`);
    return { localPath, sha256: file.sha256, size: file.size, fromCache: false, bytesReceived, restarts };
  }
}

/** Makes store files local through the cache: once per content, shared by concurrent fetches. */
export class Fetcher {
  private readonly active = new Map<string, SharedDownload>();

  constructor(
    readonly cache: ModelCache,
    private readonly connections: StoreConnections,
  ) {}

  /** True while this process is downloading the sha256. */
  isDownloading(sha256: string): boolean {
    return this.active.has(sha256);
  }

  async fetch(request: FetchRequest, onProgress: (progress: FetchProgress) => void, signal: AbortSignal): Promise<FetchResult> {
    const verdict = checkStorePath(request.path);
    if (!verdict.ok) throw new FilesError(status.INVALID_ARGUMENT, verdict.message);
    for (let restart = 0; ; restart += 1) {
      try {
        return await this.fetchOnce(request, onProgress, signal);
      } catch (error) {
        if (!(error instanceof RevisionChangedError) || restart >= maxRevisionRestarts) {
          if (error instanceof RevisionChangedError) throw new FilesError(status.ABORTED, `${request.path} keeps changing on store "${request.store.name}" while it is fetched; try again when it is stable`);
          throw error;
        }
        log.warn(`models: ${request.store.name}:${request.path} changed on the store while it was fetched; starting again with the new revision`);
      }
    }
  }

  private async fetchOnce(request: FetchRequest, onProgress: (progress: FetchProgress) => void, signal: AbortSignal): Promise<FetchResult> {
    onProgress({ state: 'resolving', bytesDone: 0, bytesTotal: 0, bytesReceived: 0, restarts: 0, message: `asking store "${request.store.name}"` });
    const info = await this.connections.use(request.store, (connection) => connection.statFile(request.path));
    if (!isSha256(info.sha256) || !Number.isSafeInteger(info.size) || info.size < 0) {
      throw new FilesError(status.FAILED_PRECONDITION, `store "${request.store.name}" described ${request.path} with sha256 "${info.sha256}" and size ${info.size}; a conforming store gives 64 lowercase hex digits and a size`);
    }
    const file: RemoteFile = { store: request.store.name, path: request.path, revision: info.revision, sha256: info.sha256, size: info.size };
    if (signal.aborted) throw cancelled();

    const cached = await this.cache.findBlob(file.sha256, file.size);
    let result: FetchResult;
    if (cached) {
      if (request.verify) {
        onProgress({ state: 'verifying', bytesDone: file.size, bytesTotal: file.size, bytesReceived: 0, restarts: 0, message: 'checking the cached file' });
        const actual = await sha256OfFile(cached, signal);
        if (actual !== file.sha256) {
          await this.cache.evict(file.sha256).catch(() => undefined);
          throw new FilesError(status.DATA_LOSS, `the cached ${request.path} is damaged: expected sha256 ${file.sha256}, got ${actual}. It was evicted; fetch again.`);
        }
      }
      result = { localPath: cached, sha256: file.sha256, size: file.size, fromCache: true, bytesReceived: 0, restarts: 0 };
    } else {
      let shared = this.active.get(file.sha256);
      if (!shared) {
        const created = new SharedDownload(this.cache, request, file, this.connections);
        this.active.set(file.sha256, created);
        void created.result.then(
          () => this.active.delete(file.sha256),
          async (error: unknown) => {
            this.active.delete(file.sha256);
            if (error instanceof RevisionChangedError) await this.cache.deletePartial(file.sha256);
          },
        );
        shared = created;
      }
      result = await shared.join(onProgress, signal);
    }
    await this.cache.writeRef({ store: file.store, path: file.path, revision: file.revision, sha256: file.sha256, size: file.size, fetchedMs: Date.now() });
    await this.cache.touch(file.sha256, request.pin);
    return result;
  }
}
