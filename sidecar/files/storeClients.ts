import { type ClientReadableStream, credentials, Metadata, status } from '@grpc/grpc-js';
import { ModelStoreClient } from '../../proto/codec/chunk';
import type { FileInfo, ListFilesResponse, ModelStoreServiceClient, ReadFileResponse } from '../../proto/gen/sidestream/store/v1/model_store';
import type { ModelStore } from '../../proto/gen/sidestream/v1/models';
import { FilesError, grpcCodeOf } from './errors';

const channelOptions = {
  'grpc.max_receive_message_length': 8 * 1024 * 1024,
  // The default 64 KiB window caps a stream far below loopback speed. grpc-js applies it
  // to each stream and to the whole connection, which all the ranges of a store share,
  // so it also bounds what is buffered here (and lost by a killed sidecar). 1 MiB fetches
  // as fast as 4 or 32 MiB on loopback (the sidecar is CPU-bound first); a sidecar killed
  // half way through 1 GiB then leaves the store about 10 MB sent and never written, 30 at 4 MiB.
  'grpc-node.flow_control_window': 1 * 1024 * 1024,
  'grpc.keepalive_time_ms': 15_000,
};

/**
 * The chunk size asked of the store. A paused grpc-js call keeps reading until its
 * object-mode stream holds 16 messages, on top of the flow window: with 1 MiB chunks the
 * 8 ranges of a fetch held about 130 MB and the sidecar peaked at 210-235 MB during a
 * 1 GiB fetch; 256 KiB peaks at 160-170 MB and fetches about 10 % faster (fewer GCs for
 * garbage buffers). 128 KiB saves little more memory and costs speed.
 */
const chunkRequestBytes = 256 * 1024;

const statDeadlineMs = 15_000;

/** One store's client: unary calls with clear errors, and range reads for the downloader. */
export class StoreConnection {
  private readonly client: ModelStoreServiceClient;

  constructor(readonly store: ModelStore) {
    this.client = new ModelStoreClient(store.address, credentials.createInsecure(), channelOptions);
  }

  private metadata(): Metadata {
    const metadata = new Metadata();
    if (this.store.token) metadata.set('authorization', `Bearer ${this.store.token}`);
    return metadata;
  }

  /** A store's error in words that say which store and what to fix. */
  describeError(error: unknown, what: string): FilesError {
    const code = grpcCodeOf(error) ?? status.INTERNAL;
    const detail = ((error as { details?: string }).details || (error as Error).message).replace(/\.?\s*Resolution note:.*$/s, '').replace(/\.$/, '');
    const where = `store "${this.store.name}" (${this.store.address})`;
    switch (code) {
      case status.UNAVAILABLE:
      case status.DEADLINE_EXCEEDED:
        return new FilesError(status.UNAVAILABLE, `${where} is unreachable (${what}): ${detail}. Check that it runs and that the address is right.`);
      case status.UNAUTHENTICATED:
      case status.PERMISSION_DENIED:
        return new FilesError(status.UNAUTHENTICATED, `${where} refused the token (${what}): ${detail}. Set the store's token in sidestream.modelStores.`);
      case status.NOT_FOUND:
        return new FilesError(status.NOT_FOUND, `${where}: ${what}: ${detail}`);
      case status.INVALID_ARGUMENT:
      case status.OUT_OF_RANGE:
        return new FilesError(status.INVALID_ARGUMENT, `${where}: ${what}: ${detail}`);
      case status.CANCELLED:
        return new FilesError(status.CANCELLED, `${what}: cancelled`);
      default:
        return new FilesError(code, `${where}: ${what}: ${detail}`);
    }
  }

  statFile(path: string): Promise<FileInfo> {
    return new Promise((resolve, reject) => {
      this.client.statFile({ path }, this.metadata(), { deadline: Date.now() + statDeadlineMs }, (error, response) => {
        if (error) return reject(this.describeError(error, `stat "${path}"`));
        if (!response?.file) return reject(new FilesError(status.INTERNAL, `store "${this.store.name}" answered StatFile("${path}") without a file`));
        resolve(response.file);
      });
    });
  }

  listPage(prefix: string, pageToken: string): Promise<ListFilesResponse> {
    return new Promise((resolve, reject) => {
      this.client.listFiles({ prefix, pageSize: 1000, pageToken }, this.metadata(), { deadline: Date.now() + statDeadlineMs }, (error, response) =>
        error ? reject(this.describeError(error, `list "${prefix}"`)) : resolve(response),
      );
    });
  }

  async listAll(prefix: string): Promise<FileInfo[]> {
    const files: FileInfo[] = [];
    let pageToken = '';
    do {
      const page = await this.listPage(prefix, pageToken);
      files.push(...page.files);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return files;
  }

  readRange(path: string, offset: number, length: number, revision: string): ClientReadableStream<ReadFileResponse> {
    return this.client.readFile({ path, offset, length, revision, chunkBytes: chunkRequestBytes }, this.metadata());
  }

  close(): void {
    this.client.close();
  }
}

/**
 * Connections to stores, one per store name, address and token, reused by every call.
 * A store whose address or token changes (sidestream.modelStores, or another client's
 * per-call store) gets a new connection, and the old one is retired, as is the least
 * recently used one beyond `maxOpen`: a retired connection closes once the work using it ends.
 */
export class StoreConnections {
  /** In order of last use, the most recent last. */
  private readonly connections = new Map<string, StoreConnection>();
  private readonly leases = new Map<StoreConnection, number>();
  private readonly retired = new Set<StoreConnection>();

  constructor(private readonly maxOpen = 16) {}

  /** Runs `work` with the store's connection, which stays open until `work` settles. */
  async use<T>(store: ModelStore, work: (connection: StoreConnection) => Promise<T>): Promise<T> {
    const connection = this.get(store);
    this.leases.set(connection, (this.leases.get(connection) ?? 0) + 1);
    try {
      return await work(connection);
    } finally {
      const left = this.leases.get(connection)! - 1;
      if (left > 0) this.leases.set(connection, left);
      else {
        this.leases.delete(connection);
        if (this.retired.delete(connection)) connection.close();
      }
    }
  }

  /** How many connections are open: in use or kept for reuse. */
  get openCount(): number {
    return this.connections.size + this.retired.size;
  }

  private get(store: ModelStore): StoreConnection {
    const key = `${store.name}\0${store.address}\0${store.token}`;
    let connection = this.connections.get(key);
    if (connection) this.connections.delete(key);
    else {
      for (const [otherKey, other] of this.connections) if (other.store.name === store.name) this.retire(otherKey, other);
      connection = new StoreConnection(store);
    }
    this.connections.set(key, connection);
    for (const [oldestKey, oldest] of this.connections) {
      if (this.connections.size <= this.maxOpen) break;
      this.retire(oldestKey, oldest);
    }
    return connection;
  }

  private retire(key: string, connection: StoreConnection): void {
    this.connections.delete(key);
    if (this.leases.has(connection)) this.retired.add(connection);
    else connection.close();
  }

  closeAll(): void {
    for (const connection of [...this.connections.values(), ...this.retired]) connection.close();
    this.connections.clear();
    this.retired.clear();
  }
}
