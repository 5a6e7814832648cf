import type { ClientReadableStream } from '@grpc/grpc-js';
import {
  type CleanCacheResponse,
  type FetchFileRequest,
  type FetchFileResponse,
  type GetCacheUsageResponse,
  type ListCacheResponse,
  type ModelStore,
  ModelsServiceClient,
  type StoreEntry,
} from '../proto/gen/sidestream/v1/models';
import { type SidecarClient, unaryCall } from './client';

/** Promise-based calls of the sidecar's Models service. */
export class ModelsClient {
  private readonly models: ModelsServiceClient;

  constructor(client: SidecarClient) {
    this.models = client.service(ModelsServiceClient);
  }

  setStores(stores: ModelStore[]): Promise<void> {
    return unaryCall(this.models, this.models.setStores, { stores }, 10_000).then(() => undefined);
  }

  /** One folder level of a store ("" for its root): folders first, then files, each with its cache state. */
  listFiles(store: string, folder: string): Promise<StoreEntry[]> {
    return unaryCall(this.models, this.models.listStoreFiles, { store: { name: store }, folder }, 30_000).then((response) => response.entries);
  }

  /** Every file of a store under `folder`, walking its folders (at most `limit` files). */
  async listAllFiles(store: string, folder = '', limit = 5000): Promise<StoreEntry[]> {
    const files: StoreEntry[] = [];
    const folders = [folder];
    while (folders.length > 0 && files.length < limit) {
      for (const entry of await this.listFiles(store, folders.shift()!)) {
        if (entry.isFolder) folders.push(entry.path);
        else files.push(entry);
      }
    }
    return files.slice(0, limit);
  }

  /** Starts a fetch; the stream's events report progress and the last has state DONE. Cancel it to stop (the partial file is kept). */
  fetch(request: Partial<FetchFileRequest> & { store: string; path: string }): ClientReadableStream<FetchFileResponse> {
    const full: FetchFileRequest = {
      chunkBytes: 0, concurrency: 0, maxBytesPerSecond: 0, stallSeconds: 0, maxRetries: 0, pin: false, verify: false, progressIntervalSeconds: 0,
      ...request,
      store: { name: request.store },
    };
    return this.models.fetchFile(full);
  }

  listCache(): Promise<ListCacheResponse> {
    return unaryCall(this.models, this.models.listCache, {}, 30_000);
  }

  /** Removes a cached file, by sha256 when known, else by store and path; resolves with the bytes freed. */
  evict(target: { sha256?: string; store?: string; path?: string }): Promise<number> {
    return unaryCall(this.models, this.models.evictFile, { sha256: target.sha256 ?? '', store: target.store ?? '', path: target.path ?? '' }, 30_000).then((response) => response.freedBytes);
  }

  usage(): Promise<GetCacheUsageResponse> {
    return unaryCall(this.models, this.models.getCacheUsage, {}, 30_000);
  }

  clean(allUnpinned: boolean): Promise<CleanCacheResponse> {
    return unaryCall(this.models, this.models.cleanCache, { allUnpinned }, 120_000);
  }
}
