// Starts the real reference model store (`node dist/sidecar.js serve-store DIR`) as a
// separate process, and a typed client for it. Shared by the store's own tests and by
// the Models service's tests.
import type { ChildProcess } from 'node:child_process';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  type FileInfo,
  type ListFilesRequest,
  type ListFilesResponse,
  ModelStoreServiceClient,
  type ReadFileRequest,
  type ReadFileResponse,
} from '../../../proto/gen/sidestream/store/v1/model_store';
import { type Exit, startSidecar } from './sidecar';

export interface StartStoreOptions {
  /** The folder to serve. */
  root: string;
  /** Passed with --token; every call then needs "authorization: Bearer <token>". */
  token?: string;
  /** --rate-limit in bytes per second. */
  rateLimit?: number;
  /** Default debug, so that tests can see "hashing" lines. */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** More arguments after DIR. */
  args?: string[];
  handshakeTimeoutMs?: number;
}

export interface RunningStore {
  address: string;
  pid: number;
  /** The real path of the served folder, from the handshake. */
  root: string;
  process: ChildProcess;
  stderrLines: string[];
  exited: Promise<Exit>;
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit. Safe to call twice. */
  stop(): Promise<Exit>;
  /** SIGKILL at once (a crashed store). */
  kill(): void;
}

/** Spawns the store (the sidecar's `serve-store` command) in its own process group and waits for its handshake line. */
export async function startStore(options: StartStoreOptions): Promise<RunningStore> {
  const args = ['serve-store', options.root, '--log-level', options.logLevel ?? 'debug'];
  if (options.token !== undefined) args.push('--token', options.token);
  if (options.rateLimit !== undefined) args.push('--rate-limit', String(options.rateLimit));
  args.push(...(options.args ?? []));
  const store = await startSidecar({ args, ...(options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: options.handshakeTimeoutMs }) });
  const { root } = JSON.parse(store.handshakeLine) as { root: string };
  let stopping: Promise<Exit> | undefined;
  return {
    address: store.address,
    pid: store.pid,
    root,
    process: store.child,
    stderrLines: store.stderrLines,
    exited: store.exited,
    kill: store.kill,
    stop: () =>
      (stopping ??= (async () => {
        if (store.child.exitCode === null && store.child.signalCode === null) store.child.kill('SIGTERM');
        try {
          return await store.waitForExit(5000);
        } catch {
          store.kill();
          return store.exited;
        }
      })()),
  };
}

/** 16 MiB windows: grpc-js's 64 KiB default caps a stream near 270 MB/s here (see FACTS). */
export const storeChannelOptions = {
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

export interface StoreClient {
  raw: ModelStoreServiceClient;
  metadata(): Metadata;
  listFiles(request: Partial<ListFilesRequest>): Promise<ListFilesResponse>;
  /** Every page of a listing, following next_page_token. */
  listAll(prefix?: string, pageSize?: number): Promise<FileInfo[]>;
  statFile(path: string): Promise<FileInfo>;
  /** The ReadFile stream itself (for pausing, cancelling). */
  readStream(request: Partial<ReadFileRequest>): ReturnType<ModelStoreServiceClient['readFile']>;
  /** Reads a range to the end of the stream; the chunks' offsets are checked to follow each other. */
  read(request: Partial<ReadFileRequest>): Promise<{ data: Buffer; chunks: ReadFileResponse[] }>;
  close(): void;
}

/**
 * A client of the store at `address`. `token`: sent as "Bearer <token>"; `authorization`
 * overrides the raw metadata value (to test refusals).
 */
export function storeClient(address: string, token?: string, options: { authorization?: string; timeoutMs?: number } = {}): StoreClient {
  const raw = new ModelStoreServiceClient(address, credentials.createInsecure(), storeChannelOptions);
  const authorization = options.authorization ?? (token === undefined ? undefined : `Bearer ${token}`);
  const metadata = () => {
    const m = new Metadata();
    if (authorization !== undefined) m.set('authorization', authorization);
    return m;
  };
  const callOptions = () => ({ deadline: Date.now() + (options.timeoutMs ?? 30_000) });
  const request = (r: Partial<ReadFileRequest>): ReadFileRequest => ({ path: '', offset: 0, length: 0, revision: '', chunkBytes: 0, ...r });
  const client: StoreClient = {
    raw,
    metadata,
    listFiles: (r) =>
      new Promise((resolve, reject) =>
        raw.listFiles({ prefix: '', pageSize: 0, pageToken: '', ...r }, metadata(), callOptions(), (error: ServiceError | null, response) =>
          error ? reject(error) : resolve(response),
        ),
      ),
    listAll: async (prefix = '', pageSize = 0) => {
      const files: FileInfo[] = [];
      let pageToken = '';
      do {
        const page = await client.listFiles({ prefix, pageSize, pageToken });
        files.push(...page.files);
        pageToken = page.nextPageToken;
      } while (pageToken !== '');
      return files;
    },
    statFile: (path) =>
      new Promise((resolve, reject) =>
        raw.statFile({ path }, metadata(), callOptions(), (error: ServiceError | null, response) => (error ? reject(error) : resolve(response.file!))),
      ),
    readStream: (r) => raw.readFile(request(r), metadata(), callOptions()),
    read: (r) =>
      new Promise((resolve, reject) => {
        const chunks: ReadFileResponse[] = [];
        const call = raw.readFile(request(r), metadata(), callOptions());
        let next = r.offset ?? 0;
        call.on('data', (chunk: ReadFileResponse) => {
          if (chunk.offset !== next) {
            call.cancel();
            reject(new Error(`chunk at offset ${chunk.offset}, expected ${next}`));
          }
          next += chunk.data.length;
          chunks.push(chunk);
        });
        call.on('error', reject);
        call.on('end', () => resolve({ data: Buffer.concat(chunks.map((c) => c.data)), chunks }));
      }),
    close: () => raw.close(),
  };
  return client;
}

/** Bytes the store has served so far, from its debug log's `ReadFile "…" sent N bytes` lines (one per finished read). */
export function bytesServed(store: RunningStore, path?: string): number {
  let total = 0;
  for (const line of store.stderrLines) {
    const match = /ReadFile "(.*)" sent (\d+) bytes$/.exec(line);
    if (match && (path === undefined || match[1] === path)) total += Number(match[2]);
  }
  return total;
}
