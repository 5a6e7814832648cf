import { type ClientReadableStream, status } from '@grpc/grpc-js';
import { type FileHandle, open, rm, stat } from 'node:fs/promises';
import type { ReadFileResponse } from '../../proto/gen/sidestream/store/v1/model_store';
import { log } from '../log';
import type { ModelCache } from './cache';
import { bytesDone, type ChunkPlan, chunkLength, chunkStart, isChunkComplete, pendingChunks } from './chunkPlan';
import { FilesError, grpcCodeOf } from './errors';
import { loadPartialPlan, newPlan, stateFile } from './partialState';
import { PrefixHasher } from './prefixHasher';
import type { StoreConnection } from './storeClients';
import { TokenBucket } from './storePaths';

export interface RemoteFile {
  store: string;
  path: string;
  revision: string;
  sha256: string;
  size: number;
}

export interface DownloadSettings {
  chunkBytes: number;
  concurrency: number;
  /** 0: no cap. */
  maxBytesPerSecond: number;
  stallMs: number;
  maxRetries: number;
}

export const downloadDefaults: DownloadSettings = {
  chunkBytes: 16 * 1024 * 1024,
  concurrency: 8,
  maxBytesPerSecond: 0,
  stallMs: 10_000,
  maxRetries: 5,
};

export interface DownloadCounters {
  /** Bytes of the file on disk (including what an earlier run left). */
  bytesDone: number;
  /** Bytes this run received from the store. */
  bytesReceived: number;
  /** Ranges started again after a stall or retried after an error. */
  restarts: number;
  /** What the run resumed from, in words; "" for a fresh start. */
  resumed: string;
}

/** The store's file is no longer the revision being fetched: start again with the new one. */
export class RevisionChangedError extends Error {}
class StallError extends Error {}

/** Store errors worth another try: the store or the network may come back. */
const retryableCodes = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.INTERNAL, status.UNKNOWN, status.RESOURCE_EXHAUSTED, status.CANCELLED]);
/** One write in flight per range, then the range's call is paused: HTTP/2 flow control holds the rest at the store. */
const writesInFlightPerRange = 1;
/** Durable progress (fdatasync) at most this often; the state file itself is rewritten as bytes land. */
const syncIntervalMs = 2000;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Fetches one file's byte ranges in parallel into `<sha256>.part`, each range written
 * in place as it arrives, with the progress of every range kept beside it so that a
 * later run continues where this one stopped. Does not verify: the caller hashes the
 * complete file before publishing it.
 */
export class RangeDownload {
  readonly counters: DownloadCounters = { bytesDone: 0, bytesReceived: 0, restarts: 0, resumed: '' };
  private plan!: ChunkPlan;
  private handle!: FileHandle;
  private stateHandle!: FileHandle;
  private readonly bucket: TokenBucket | undefined;
  private readonly calls = new Set<ClientReadableStream<ReadFileResponse>>();
  private readonly stopper = new AbortController();
  private stopReason: Error | undefined;
  private durableDone: number[] = [];
  private lastSyncMs = 0;
  /** A periodic fdatasync in progress: the state file goes on being rewritten meanwhile. */
  private syncing: Promise<void> | undefined;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  private hasher: PrefixHasher | undefined;
  /** The first chunk that is not complete: everything before it is on disk. */
  private frontierChunk = 0;

  constructor(
    private readonly cache: ModelCache,
    private readonly connection: StoreConnection,
    private readonly file: RemoteFile,
    private readonly settings: DownloadSettings,
    signal: AbortSignal,
  ) {
    // A quarter second of burst: the cap holds over any stretch longer than that.
    this.bucket = settings.maxBytesPerSecond > 0 ? new TokenBucket(settings.maxBytesPerSecond, Math.max(settings.maxBytesPerSecond / 4, 64 * 1024), performance.now()) : undefined;
    const onAbort = () => this.stop(new FilesError(status.CANCELLED, 'the fetch was cancelled; the partial file is kept and the next fetch resumes it'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  /** Resolves with the partial file's path and the sha256 of what is on disk once every byte has landed. */
  async run(): Promise<{ partialPath: string; sha256: string }> {
    const { sha256, size } = this.file;
    const partialPath = this.cache.partialPath(sha256);
    const resumed = await loadPartialPlan(this.cache, sha256, size);
    const partialExists = await stat(partialPath).then((info) => info.isFile() && info.size <= size, () => false);
    if (resumed && partialExists) {
      this.plan = resumed.plan;
      this.handle = await open(partialPath, 'r+');
      this.stateHandle = await open(this.cache.partialStatePath(sha256), 'r+');
      this.durableDone = [...resumed.plan.done];
      this.counters.resumed = `${resumed.reason} at ${bytesDone(resumed.plan)} of ${size} bytes`;
    } else {
      await rm(partialPath, { force: true });
      this.plan = newPlan(size, Math.max(1, this.settings.chunkBytes));
      // Not truncated to its size first: on ext4, 8 ranges written into a sparse file of
      // the full size took ten times the system time of the same writes growing the file.
      this.handle = await open(partialPath, 'w+', 0o644);
      this.stateHandle = await open(this.cache.partialStatePath(sha256), 'w', 0o644);
      this.durableDone = [...this.plan.done];
    }
    this.counters.bytesDone = bytesDone(this.plan);
    this.lastSyncMs = Date.now();
    this.hasher = new PrefixHasher(partialPath);
    this.advanceFrontier();

    const queue = pendingChunks(this.plan);
    let firstError: unknown;
    const worker = async () => {
      for (let index = queue.shift(); index !== undefined && !this.stopReason; index = queue.shift()) {
        try {
          await this.fetchChunk(index);
        } catch (error) {
          firstError ??= error;
          this.stop(error as Error);
        }
      }
    };
    try {
      await this.flush();
      await Promise.all(Array.from({ length: Math.max(1, Math.min(this.settings.concurrency, queue.length)) }, worker));
      if (this.stopReason) throw firstError ?? this.stopReason;
      const sha256 = await this.hasher.finish(size);
      this.hasher = undefined;
      return { partialPath, sha256 };
    } finally {
      this.hasher?.cancel();
      await this.flush(true).catch((error: Error) => log.warn(`models: could not save the progress of ${this.file.path}: ${error.message}`));
      await this.handle.close();
      await this.stateHandle.close();
    }
  }

  private stop(reason: Error): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.stopper.abort();
    for (const call of this.calls) call.cancel();
  }

  private async fetchChunk(index: number): Promise<void> {
    let retries = 0;
    while (!isChunkComplete(this.plan, index)) {
      if (this.stopReason) throw this.stopReason;
      try {
        await this.streamRange(index);
      } catch (error) {
        if (this.stopReason) throw this.stopReason;
        if (error instanceof StallError) {
          this.counters.restarts += 1;
          log.warn(`models: no bytes of ${this.file.path} for ${this.settings.stallMs / 1000} s at ${chunkStart(this.plan, index) + this.plan.done[index]!}; asking again`);
          continue;
        }
        if (error instanceof RevisionChangedError || error instanceof FilesError) throw error;
        const code = grpcCodeOf(error);
        if (code !== undefined && !retryableCodes.has(code)) throw this.connection.describeError(error, `read "${this.file.path}"`);
        retries += 1;
        this.counters.restarts += 1;
        if (retries > this.settings.maxRetries) {
          if (code === undefined) {
            // Not a gRPC failure: the store's answers break the protocol (wrong offsets, short ranges).
            throw new FilesError(status.FAILED_PRECONDITION, `store "${this.file.store}" does not follow the model store protocol: ${(error as Error).message} (read "${this.file.path}", ${this.settings.maxRetries} retries)`);
          }
          throw this.connection.describeError(error, `read "${this.file.path}", given up after ${this.settings.maxRetries} retries`);
        }
        const backoffMs = Math.min(500 * 2 ** (retries - 1), 8000);
        log.warn(`models: reading ${this.file.path} failed (${(error as Error).message}); retry ${retries} of ${this.settings.maxRetries} in ${backoffMs} ms`);
        await sleep(backoffMs, this.stopper.signal);
      }
    }
  }

  /** Streams the rest of one range into the file; settles once every write of it has landed. */
  private streamRange(index: number): Promise<void> {
    const plan = this.plan;
    const end = chunkStart(plan, index) + chunkLength(plan, index);
    let expected = chunkStart(plan, index) + plan.done[index]!;
    return new Promise<void>((resolve, reject) => {
      const call = this.connection.readRange(this.file.path, expected, end - expected, this.file.revision);
      this.calls.add(call);
      let writes = 0;
      let ended = false;
      let settled = false;
      let failure: Error | undefined;
      let stallTimer: NodeJS.Timeout | undefined;
      const armStall = () => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          failure ??= new StallError();
          call.cancel();
        }, this.settings.stallMs);
      };
      const settle = () => {
        if (settled || writes > 0 || !(ended || failure)) return;
        settled = true;
        clearTimeout(stallTimer);
        this.calls.delete(call);
        if (failure) reject(failure);
        else if (expected === end) resolve();
        else reject(new Error(`the store ended the range at byte ${expected} of ${end}`));
      };
      armStall();
      call.on('data', (message: ReadFileResponse) => {
        if (failure) return;
        const { data, offset } = message;
        if (offset !== expected || expected + data.length > end) {
          failure = new Error(`the store sent bytes at ${offset} (+${data.length}) where ${expected} was expected`);
          call.cancel();
          return;
        }
        expected += data.length;
        writes += 1;
        const waitMs = this.bucket?.take(data.length, performance.now()) ?? 0;
        if (writes >= writesInFlightPerRange || waitMs > 0) {
          call.pause();
          clearTimeout(stallTimer); // our own hold is not the store's stall
        } else armStall();
        // Ranges write at once (one write each, so a range's bytes count as done in file
        // order and the resume state and the hashing thread never see a hole as written).
        // One write at a time for the whole file fetched 280-315 MB/s here, at once 330-370.
        const landed = this.handle.write(data, 0, data.length, offset);
        const accounted = landed.then(
          () => {
            if (failure) return;
            plan.done[index]! += data.length;
            this.counters.bytesDone += data.length;
            this.counters.bytesReceived += data.length;
            if (index === this.frontierChunk) this.advanceFrontier();
            this.scheduleFlush();
          },
          (error: NodeJS.ErrnoException) => {
            failure ??=
              error.code === 'ENOSPC'
                ? new FilesError(status.RESOURCE_EXHAUSTED, `the cache's disk is full (${this.cache.folder}); the partial file is kept: free some space, then fetch again to resume`)
                : new FilesError(status.INTERNAL, `cannot write ${this.cache.partialPath(this.file.sha256)}: ${error.message}`);
            call.cancel();
          },
        );
        const paced = waitMs > 0 ? new Promise((resolve) => setTimeout(resolve, waitMs)) : undefined;
        void Promise.all([accounted, paced]).finally(() => {
          writes -= 1;
          if (!failure && !ended && writes < writesInFlightPerRange) {
            call.resume();
            armStall();
          }
          settle();
        });
      });
      call.on('end', () => {
        ended = true;
        settle();
      });
      call.on('error', (error) => {
        ended = true;
        if (!failure) {
          if (grpcCodeOf(error) === status.ABORTED) failure = new RevisionChangedError(`the store's file changed while it was read (${error.message})`);
          else failure = error;
        }
        settle();
      });
    });
  }

  /**
   * fdatasync in the background: with hundreds of MB not yet on the disk it can take a
   * second, and a state file held back that long would make a killed process lose
   * everything that landed meanwhile. `durable` moves on once the sync is done.
   */
  private startSync(): void {
    const snapshot = [...this.plan.done];
    this.lastSyncMs = Date.now();
    this.syncing = this.handle
      .datasync()
      .then(
        () => {
          this.durableDone = snapshot;
          this.scheduleFlush();
        },
        (error: Error) => log.warn(`models: could not sync ${this.cache.partialPath(this.file.sha256)}: ${error.message}`),
      )
      .finally(() => (this.syncing = undefined));
  }

  private advanceFrontier(): void {
    while (this.frontierChunk < this.plan.done.length && isChunkComplete(this.plan, this.frontierChunk)) this.frontierChunk += 1;
    const prefix = this.frontierChunk < this.plan.done.length ? chunkStart(this.plan, this.frontierChunk) + this.plan.done[this.frontierChunk]! : this.plan.size;
    this.hasher?.advance(prefix);
  }

  private scheduleFlush(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = this.flushLoop(false)
      .catch((error: Error) => log.warn(`models: could not save the progress of ${this.file.path}: ${error.message}`))
      .finally(() => (this.flushing = undefined));
  }

  /** Waits for a running flush, then writes the state once more (`durable`: after an fdatasync). */
  private async flush(durable = false): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.flushLoop(durable).finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async flushLoop(forceSync: boolean): Promise<void> {
    let sync = forceSync;
    do {
      this.flushAgain = false;
      if (sync) {
        await this.syncing;
        const snapshot = [...this.plan.done];
        await this.handle.datasync();
        this.durableDone = snapshot;
        this.lastSyncMs = Date.now();
      } else if (!this.syncing && Date.now() - this.lastSyncMs >= syncIntervalMs) this.startSync();
      const { store, path, revision, sha256 } = this.file;
      // One positional write over the previous state, padded to whole pages so that it
      // never shrinks (JSON allows the trailing spaces): one system call per update, so
      // the state keeps close behind the bytes. A write torn by a power cut fails to
      // parse, and the download starts over; it never resumes from a wrong state.
      const text = JSON.stringify(stateFile(sha256, { store, path, revision }, this.plan, this.durableDone));
      const record = Buffer.alloc(Math.ceil((Buffer.byteLength(text) + 1) / 4096) * 4096, 0x20);
      record.write(text);
      await this.stateHandle.write(record, 0, record.length, 0);
      if (sync) await this.stateHandle.datasync();
      sync = false;
    } while (this.flushAgain);
  }
}
