import { type sendUnaryData, type ServerWritableStream, status } from '@grpc/grpc-js';
import {
  type CachedFile,
  CacheState,
  type FetchFileRequest,
  type FetchFileResponse,
  FetchState,
  type ModelStore,
  type ModelsServiceServer,
  type StoreEntry,
  type StoreRef,
} from '../../proto/gen/sidestream/v1/models';
import { log } from '../log';
import { isSha256, type ModelCache } from './cache';
import { downloadDefaults, type DownloadSettings } from './downloader';
import { FilesError } from './errors';
import { type FetchProgress, type FetchStateName, Fetcher } from './fetcher';
import { StoreConnections } from './storeClients';
import { checkStorePrefix } from './storePaths';

const fetchStateToProto: Record<FetchStateName, FetchState> = {
  resolving: FetchState.FETCH_STATE_RESOLVING,
  waiting: FetchState.FETCH_STATE_WAITING,
  downloading: FetchState.FETCH_STATE_DOWNLOADING,
  verifying: FetchState.FETCH_STATE_VERIFYING,
  done: FetchState.FETCH_STATE_DONE,
};

function toStatus(error: unknown): { code: status; details: string } {
  if (error instanceof FilesError) return { code: error.code, details: error.message };
  log.error(`models: ${(error as Error).stack ?? String(error)}`);
  return { code: status.INTERNAL, details: (error as Error).message ?? String(error) };
}

function unary<T>(callback: sendUnaryData<T>, work: () => Promise<T> | T): void {
  Promise.resolve()
    .then(work)
    .then(
      (value) => callback(null, value),
      (error: unknown) => callback(toStatus(error)),
    );
}

function validateStore(store: ModelStore): void {
  if (!store.name.trim()) throw new FilesError(status.INVALID_ARGUMENT, 'a model store needs a name');
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):\d{1,5}$/.test(store.address)) {
    throw new FilesError(status.INVALID_ARGUMENT, `model store "${store.name}" needs an address HOST:PORT, such as 127.0.0.1:50061; got "${store.address}"`);
  }
}

/** The named stores of this sidecar (the extension sets them from `sidestream.modelStores`). */
export class StoreDirectory {
  private stores = new Map<string, ModelStore>();

  set(stores: ModelStore[]): void {
    const next = new Map<string, ModelStore>();
    for (const store of stores) {
      validateStore(store);
      if (next.has(store.name)) throw new FilesError(status.INVALID_ARGUMENT, `two model stores are named "${store.name}"; names must be unique`);
      next.set(store.name, store);
    }
    this.stores = next;
  }

  list(): ModelStore[] {
    return [...this.stores.values()];
  }

  resolve(ref: StoreRef | undefined): ModelStore {
    if (ref?.inline) {
      validateStore(ref.inline);
      return ref.inline;
    }
    if (ref?.name === undefined || ref.name === '') throw new FilesError(status.INVALID_ARGUMENT, 'name a store: store.name (one set with SetStores) or store.inline');
    const store = this.stores.get(ref.name);
    if (!store) {
      const known = [...this.stores.keys()];
      throw new FilesError(status.NOT_FOUND, `no model store is named "${ref.name}"; ${known.length ? `known: ${known.join(', ')}` : 'none is configured (add one in sidestream.modelStores)'}`);
    }
    return store;
  }
}

function settingsOf(request: FetchFileRequest): DownloadSettings {
  const positive = (value: number, what: string) => {
    if (!Number.isFinite(value) || value < 0) throw new FilesError(status.INVALID_ARGUMENT, `${what} must be 0 (the default) or more; got ${value}`);
    return value;
  };
  return {
    chunkBytes: positive(request.chunkBytes, 'chunk_bytes') || downloadDefaults.chunkBytes,
    concurrency: Math.min(positive(request.concurrency, 'concurrency') || downloadDefaults.concurrency, 64),
    maxBytesPerSecond: positive(request.maxBytesPerSecond, 'max_bytes_per_second'),
    stallMs: (positive(request.stallSeconds, 'stall_seconds') || downloadDefaults.stallMs / 1000) * 1000,
    maxRetries: positive(request.maxRetries, 'max_retries') || downloadDefaults.maxRetries,
  };
}

/** Bytes per second over the last few seconds, from samples of the bytes done. */
class RateMeter {
  private readonly samples: Array<{ at: number; bytes: number }> = [];

  add(bytes: number): number {
    const at = performance.now();
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > 3000) this.samples.shift();
    const first = this.samples[0]!;
    const seconds = (at - first.at) / 1000;
    return seconds > 0.2 ? Math.max(0, (bytes - first.bytes) / seconds) : 0;
  }
}

export function modelsService(cache: ModelCache): { implementation: ModelsServiceServer; fetcher: Fetcher; stores: StoreDirectory; close(): void } {
  const connections = new StoreConnections();
  const fetcher = new Fetcher(cache, connections);
  const stores = new StoreDirectory();

  const fetchFile = (call: ServerWritableStream<FetchFileRequest, FetchFileResponse>) => {
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort());
    const send = (event: Partial<FetchFileResponse>) => {
      if (!call.cancelled) call.write({ state: FetchState.FETCH_STATE_UNSPECIFIED, bytesDone: 0, bytesTotal: 0, bytesPerSecond: 0, etaSeconds: 0, localPath: '', sha256: '', fromCache: false, bytesReceived: 0, restarts: 0, message: '', ...event });
    };
    const run = async () => {
      const request = call.request;
      const store = stores.resolve(request.store);
      const settings = settingsOf(request);
      const intervalMs = Math.max(20, (request.progressIntervalSeconds || 0.25) * 1000);
      const meter = new RateMeter();
      let lastSent = 0;
      let lastState: FetchStateName | undefined;
      const onProgress = (progress: FetchProgress) => {
        const now = performance.now();
        const rate = meter.add(progress.bytesDone);
        if (progress.state === lastState && now - lastSent < intervalMs) return;
        lastSent = now;
        lastState = progress.state;
        send({
          state: fetchStateToProto[progress.state],
          bytesDone: progress.bytesDone,
          bytesTotal: progress.bytesTotal,
          bytesPerSecond: rate,
          etaSeconds: rate > 0 ? Math.max(0, progress.bytesTotal - progress.bytesDone) / rate : 0,
          bytesReceived: progress.bytesReceived,
          restarts: progress.restarts,
          message: progress.message,
        });
      };
      const result = await fetcher.fetch({ store, path: request.path, settings, pin: request.pin, verify: request.verify }, onProgress, controller.signal);
      send({
        state: FetchState.FETCH_STATE_DONE,
        bytesDone: result.size,
        bytesTotal: result.size,
        localPath: result.localPath,
        sha256: result.sha256,
        fromCache: result.fromCache,
        bytesReceived: result.bytesReceived,
        restarts: result.restarts,
      });
    };
    run().then(
      () => call.end(),
      (error: unknown) => {
        if (!call.cancelled) call.emit('error', toStatus(error));
      },
    );
  };

  const implementation: ModelsServiceServer = {
    setStores: (call, callback) =>
      unary(callback, () => {
        stores.set(call.request.stores);
        return {};
      }),
    listStores: (_call, callback) => unary(callback, () => ({ stores: stores.list().map((store) => ({ ...store, token: '' })) })),
    listStoreFiles: (call, callback) =>
      unary(callback, async () => {
        const store = stores.resolve(call.request.store);
        const prefix = checkStorePrefix(call.request.folder);
        if (!prefix.ok) throw new FilesError(status.INVALID_ARGUMENT, prefix.message);
        const folder = prefix.path;
        const files = await connections.use(store, (connection) => connection.listAll(folder));
        const partials = await cache.listPartials();
        const folders = new Set<string>();
        const entries: StoreEntry[] = [];
        for (const file of files) {
          const rest = folder ? file.path.slice(folder.length + 1) : file.path;
          const slash = rest.indexOf('/');
          if (slash >= 0) {
            folders.add(folder ? `${folder}/${rest.slice(0, slash)}` : rest.slice(0, slash));
            continue;
          }
          const entry: StoreEntry = { path: file.path, isFolder: false, size: file.size, sha256: file.sha256, revision: file.revision, cacheState: CacheState.CACHE_STATE_REMOTE, partialBytes: 0, localPath: '' };
          const refs = await cache.refsOf(store.name, file.path);
          const current = refs.find((ref) => ref.revision === file.revision);
          const currentPath = current && (await cache.findBlob(current.sha256, current.size));
          const stale = !currentPath && refs.length > 0 ? await cache.findBlob(refs[0]!.sha256, refs[0]!.size) : undefined;
          const partial = partials.find((p) => p.ref?.store === store.name && p.ref.path === file.path && p.ref.revision === file.revision);
          if (currentPath) Object.assign(entry, { cacheState: CacheState.CACHE_STATE_CACHED, localPath: currentPath, sha256: current.sha256 });
          else if (partial) Object.assign(entry, { cacheState: CacheState.CACHE_STATE_PARTIAL, partialBytes: partial.bytesDone });
          else if (stale) Object.assign(entry, { cacheState: CacheState.CACHE_STATE_STALE, localPath: stale });
          entries.push(entry);
        }
        const folderEntries = [...folders].sort().map((path): StoreEntry => ({ path, isFolder: true, size: 0, sha256: '', revision: '', cacheState: CacheState.CACHE_STATE_UNSPECIFIED, partialBytes: 0, localPath: '' }));
        return { entries: [...folderEntries, ...entries.sort((a, b) => (a.path < b.path ? -1 : 1))] };
      }),
    fetchFile,
    listCache: (_call, callback) =>
      unary(callback, async () => {
        const blobs = await cache.listBlobs();
        const partials = await cache.listPartials();
        return {
          files: blobs.map(
            (blob): CachedFile => ({
              sha256: blob.sha256,
              size: blob.size,
              localPath: blob.localPath,
              refs: blob.refs.map((ref) => ({ store: ref.store, path: ref.path, revision: ref.revision })),
              lastUsedUnixMs: Math.round(blob.meta.lastUsedMs),
              pinned: blob.meta.pinned,
            }),
          ),
          partials: partials.map((partial) => ({ sha256: partial.sha256, size: partial.size, bytesDone: partial.bytesDone, ref: partial.ref, active: partial.active || fetcher.isDownloading(partial.sha256) })),
        };
      }),
    evictFile: (call, callback) =>
      unary(callback, async () => {
        const { sha256, store, path } = call.request;
        const evict = (target: string) => {
          if (!isSha256(target)) throw new FilesError(status.INVALID_ARGUMENT, `"${target}" is not a sha256 (64 lowercase hex digits)`);
          if (fetcher.isDownloading(target)) throw new FilesError(status.FAILED_PRECONDITION, `${target.slice(0, 12)}… is being fetched; cancel the fetch first`);
          return cache.evict(target);
        };
        if (sha256) return { freedBytes: await evict(sha256) };
        if (!store || !path) throw new FilesError(status.INVALID_ARGUMENT, 'name the file to evict: sha256, or store and path');
        // Every cached revision of the file (a stale one too).
        const cached = [];
        for (const ref of await cache.refsOf(store, path)) if (await cache.findBlob(ref.sha256, ref.size)) cached.push(ref.sha256);
        if (cached.length === 0) throw new FilesError(status.NOT_FOUND, `${store}:${path} is not in the cache`);
        let freedBytes = 0;
        for (const target of new Set(cached)) freedBytes += await evict(target);
        return { freedBytes };
      }),
    getCacheUsage: (_call, callback) => unary(callback, () => cache.usage()),
    cleanCache: (call, callback) => unary(callback, () => cache.clean(call.request.allUnpinned)),
  };
  return { implementation, fetcher, stores, close: () => connections.closeAll() };
}
