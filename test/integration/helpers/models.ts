// A typed client of the sidecar's Models service for tests and benchmarks, and test files made at test time.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  type CleanCacheResponse,
  type EvictFileRequest,
  type EvictFileResponse,
  type FetchFileRequest,
  type FetchFileResponse,
  type GetCacheUsageResponse,
  type ListCacheResponse,
  type ListStoreFilesResponse,
  type ModelStore,
  ModelsServiceClient,
  type StoreRef,
} from '../../../proto/gen/sidestream/v1/models';

import { newToken, type RunningSidecar, startSidecar } from './sidecar';

export { CacheState, FetchState } from '../../../proto/gen/sidestream/v1/models';

export interface FetchOutcome {
  events: FetchFileResponse[];
  last: FetchFileResponse | undefined;
  error: ServiceError | undefined;
}

export class ModelsTestClient {
  readonly client: ModelsServiceClient;

  constructor(
    address: string,
    private readonly token: string,
  ) {
    this.client = new ModelsServiceClient(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  }

  metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${this.token}`);
    return metadata;
  }

  private unary<Req, Res>(method: (request: Req, metadata: Metadata, callback: (error: ServiceError | null, response: Res) => void) => unknown, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => method.call(this.client, request, this.metadata(), (error, response) => (error ? reject(error) : resolve(response))));
  }

  setStores(stores: ModelStore[]): Promise<unknown> {
    return this.unary(this.client.setStores, { stores });
  }

  listStoreFiles(store: StoreRef, folder = ''): Promise<ListStoreFilesResponse> {
    return this.unary(this.client.listStoreFiles, { store, folder });
  }

  listCache(): Promise<ListCacheResponse> {
    return this.unary(this.client.listCache, {});
  }

  evict(request: Partial<EvictFileRequest>): Promise<EvictFileResponse> {
    return this.unary(this.client.evictFile, { sha256: '', store: '', path: '', ...request });
  }

  usage(): Promise<GetCacheUsageResponse> {
    return this.unary(this.client.getCacheUsage, {});
  }

  clean(allUnpinned: boolean): Promise<CleanCacheResponse> {
    return this.unary(this.client.cleanCache, { allUnpinned });
  }

  /** Starts a fetch; `onEvent` may cancel it through the returned call. */
  startFetch(request: Partial<FetchFileRequest> & { store: StoreRef; path: string }, onEvent?: (event: FetchFileResponse) => void) {
    const full: FetchFileRequest = { chunkBytes: 0, concurrency: 0, maxBytesPerSecond: 0, stallSeconds: 0, maxRetries: 0, pin: false, verify: false, progressIntervalSeconds: 0.1, ...request };
    const call = this.client.fetchFile(full, this.metadata());
    const events: FetchFileResponse[] = [];
    const done = new Promise<FetchOutcome>((resolve) => {
      call.on('data', (event: FetchFileResponse) => {
        events.push(event);
        onEvent?.(event);
      });
      call.on('error', (error: ServiceError) => resolve({ events, last: events.at(-1), error }));
      call.on('end', () => resolve({ events, last: events.at(-1), error: undefined }));
    });
    return { call, events, done };
  }

  fetch(request: Partial<FetchFileRequest> & { store: StoreRef; path: string }): Promise<FetchOutcome> {
    return this.startFetch(request).done;
  }

  close(): void {
    this.client.close();
  }
}

/** Writes `bytes` random bytes to `path` in 1 MiB blocks; resolves with their sha256. */
export async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const block = randomBytes(1024 * 1024);
  for (let written = 0; written < bytes; ) {
    const size = Math.min(block.length, bytes - written);
    const piece = size === block.length ? block : block.subarray(0, size);
    // A different block each time, cheaply: the offset goes into its first bytes.
    piece.writeUInt32LE(written / (1024 * 1024), 0);
    const copy = Buffer.from(piece);
    hash.update(copy);
    if (!out.write(copy)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    written += size;
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return hash.digest('hex');
}

export interface ModelsRig {
  sidecar: RunningSidecar;
  client: ModelsTestClient;
  /** Closes the client and kills the sidecar's process group. */
  stop(): void;
}

/** A real sidecar on the cache folder `cacheDir`, with a Models client. */
export async function startModelsSidecar(cacheDir: string, extraArgs: string[] = []): Promise<ModelsRig> {
  const token = newToken();
  const sidecar = await startSidecar({ token, args: ['--cache-dir', cacheDir, ...extraArgs] });
  const client = new ModelsTestClient(sidecar.address, token);
  return {
    sidecar,
    client,
    stop: () => {
      client.close();
      sidecar.kill();
    },
  };
}
