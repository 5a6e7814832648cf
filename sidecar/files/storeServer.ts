// The reference model store server: serves one folder read-only over the ModelStore
// protocol (proto/sidestream/store/v1/model_store.proto; its header is the spec).
import { constants, type Dirent } from 'node:fs';
import { type FileHandle, open, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type sendUnaryData,
  Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  status,
} from '@grpc/grpc-js';
import {
  type FileInfo,
  type ListFilesRequest,
  type ListFilesResponse,
  type ModelStoreServiceServer,
  type ReadFileRequest,
  type ReadFileResponse,
  type StatFileRequest,
  type StatFileResponse,
} from '../../proto/gen/sidestream/store/v1/model_store';
import { allocateChunkData, modelStoreServiceWithChunkCodec } from '../../proto/codec/chunk';
import { bearerAuthInterceptor } from '../auth';
import { BufferPool } from '../bufferPool';
import { type ListenAddress } from '../cli';
import { log } from '../log';
import { bindServer, maxMessageBytes, shutdownServer } from '../grpcServer';
import { type FileIdentity, revisionOf } from '../fileRevision';
import { DigestCache, FileChangedError } from './digestCache';
import {
  checkStorePath,
  checkStorePrefix,
  chunkBytesForRate,
  comparePaths,
  decodePageToken,
  effectiveChunkBytes,
  effectivePageSize,
  encodePageToken,
  isInside,
  readRange,
  TokenBucket,
} from './storePaths';

/** A failure that goes back to the client as this gRPC status. */
export class StoreError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
  get details(): string {
    return this.message;
  }
}

const notFound = (path: string) => new StoreError(status.NOT_FOUND, `no file "${path}" in this store; ListFiles shows what it serves.`);
const revisionChanged = (why: string) =>
  new StoreError(status.ABORTED, `revision changed: ${why}; StatFile it again and read the new revision from the start.`);

/** Bytes of one ReadFile stream that may wait in grpc-js and HTTP/2 for the client to take them. */
const inFlightBytes = 2 * 1024 * 1024;

export interface StoreServerOptions {
  /** The folder to serve. */
  root: string;
  listen: ListenAddress;
  /** When set, every call needs `authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Per-stream cap in bytes per second for ReadFile (tests, benchmarks). */
  rateLimit?: number | undefined;
}

export interface StoreServer {
  address: string;
  /** The real path of the root. */
  root: string;
  digests: DigestCache;
  /** Stops taking calls; calls in flight get `graceMs` before they are cut. */
  shutdown(graceMs: number): Promise<void>;
}

interface ResolvedFile {
  /** The store path as asked for. */
  path: string;
  realPath: string;
  identity: FileIdentity;
  modifiedUnixMs: number;
}

const bigStat = async (path: string): Promise<FileIdentity & { mtimeMs: bigint; isFile(): boolean; isDirectory(): boolean }> =>
  stat(path, { bigint: true });

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG';
}

/** The ModelStoreService for the folder whose real path is `realRoot`. */
export function modelStoreService(realRoot: string, digests: DigestCache, rateLimit?: number): ModelStoreServiceServer {
  /** Resolves a store path to a regular file under the root, following symbolic links that stay inside. */
  async function resolveFile(path: string): Promise<ResolvedFile> {
    const verdict = checkStorePath(path);
    if (!verdict.ok) throw new StoreError(status.INVALID_ARGUMENT, verdict.message);
    let realPath: string;
    try {
      realPath = await realpath(join(realRoot, path));
    } catch (error) {
      if (isMissing(error)) throw notFound(path);
      throw error;
    }
    // A symbolic link that leads outside the root is, for the client, no file at all.
    if (!isInside(realRoot, realPath)) {
      log.debug(`refused "${path}": it resolves to ${realPath}, outside the root`);
      throw notFound(path);
    }
    const stats = await bigStat(realPath).catch((error: unknown) => {
      throw isMissing(error) ? notFound(path) : error;
    });
    if (stats.isDirectory()) {
      throw new StoreError(status.NOT_FOUND, `"${path}" is a folder, not a file; list its files with ListFiles(prefix "${path}").`);
    }
    if (!stats.isFile()) throw new StoreError(status.NOT_FOUND, `"${path}" is not a regular file.`);
    return { path, realPath, identity: stats, modifiedUnixMs: Number(stats.mtimeMs) };
  }

  const infoOf = (file: ResolvedFile, sha256: string): FileInfo => ({
    path: file.path,
    size: Number(file.identity.size),
    sha256,
    modifiedUnixMs: file.modifiedUnixMs,
    revision: revisionOf(file.identity),
  });

  /** The files under a real folder, as store paths below `base` ("" or "a/b"), unsorted. */
  async function walk(realDir: string, base: string, into: { path: string; absPath: string }[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(realDir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const entry of entries) {
      const name = entry.name;
      const path = base === '' ? name : `${base}/${name}`;
      const absPath = join(realDir, name);
      if (name.includes('\\') || !checkStorePath(path).ok) continue; // not nameable by the protocol
      if (entry.isDirectory()) await walk(absPath, path, into);
      else if (entry.isFile()) into.push({ path, absPath });
      else if (entry.isSymbolicLink()) {
        // Links to files inside the root are listed; links to folders are not followed (no cycles).
        const target = await realpath(absPath).catch(() => undefined);
        if (!target || !isInside(realRoot, target)) continue;
        const stats = await stat(target).catch(() => undefined);
        if (stats?.isFile()) into.push({ path, absPath });
      }
    }
  }

  async function listFiles(request: ListFilesRequest): Promise<ListFilesResponse> {
    const prefixVerdict = checkStorePrefix(request.prefix);
    if (!prefixVerdict.ok) throw new StoreError(status.INVALID_ARGUMENT, prefixVerdict.message);
    const prefix = prefixVerdict.path;
    const pageSize = effectivePageSize(request.pageSize);
    if (typeof pageSize === 'string') throw new StoreError(status.INVALID_ARGUMENT, pageSize);
    const token = decodePageToken(request.pageToken, prefix);
    if (!token.ok) throw new StoreError(status.INVALID_ARGUMENT, token.message);

    let realDir = realRoot;
    if (prefix !== '') {
      const resolved = await realpath(join(realRoot, prefix)).catch(() => undefined);
      if (!resolved || !isInside(realRoot, resolved)) return { files: [], nextPageToken: '' };
      realDir = resolved;
    }
    const found: { path: string; absPath: string }[] = [];
    await walk(realDir, prefix, found);
    const candidates = found.filter((f) => comparePaths(f.path, token.after) > 0).sort((a, b) => comparePaths(a.path, b.path));

    const files: FileInfo[] = [];
    let index = 0;
    for (; index < candidates.length && files.length < pageSize; index++) {
      const candidate = candidates[index]!;
      try {
        const [realPath, stats] = await Promise.all([realpath(candidate.absPath), bigStat(candidate.absPath)]);
        if (!stats.isFile()) continue;
        const file: ResolvedFile = { path: candidate.path, realPath, identity: stats, modifiedUnixMs: Number(stats.mtimeMs) };
        // Listings never hash: the digest is filled only when it is known already.
        files.push(infoOf(file, digests.peek(realPath, stats) ?? ''));
      } catch (error) {
        if (!isMissing(error)) throw error; // gone since the walk: not listed
      }
    }
    const more = index < candidates.length;
    return { files, nextPageToken: more && files.length > 0 ? encodePageToken(prefix, files[files.length - 1]!.path) : '' };
  }

  async function statFile(request: StatFileRequest): Promise<StatFileResponse> {
    for (let attempt = 0; ; attempt++) {
      const file = await resolveFile(request.path);
      try {
        const sha256 = await digests.digest(file.realPath, file.identity, bigStat);
        return { file: infoOf(file, sha256) };
      } catch (error) {
        // Changed while hashed: hash the new content, a few times, then give up.
        if (error instanceof FileChangedError && attempt < 3) continue;
        if (error instanceof FileChangedError) throw new StoreError(status.UNAVAILABLE, `"${request.path}" keeps changing while its sha256 is computed; try again when it is written.`);
        throw error;
      }
    }
  }

  async function readFile(call: ServerWritableStream<ReadFileRequest, ReadFileResponse>): Promise<void> {
    const request = call.request;
    let cancelled = call.cancelled;
    let wake: (() => void) | undefined;
    const wakeUp = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    call.on('cancelled', () => {
      cancelled = true;
      wakeUp();
    });
    const wait = (ms?: number) =>
      new Promise<void>((resolve) => {
        const timer = ms === undefined ? undefined : setTimeout(() => wakeUp(), ms);
        wake = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
      });

    let handle: FileHandle | undefined;
    let sent = 0;
    let reportSent: (() => void) | undefined;
    let inFlight = 0;
    try {
      const chunkSetting = effectiveChunkBytes(request.chunkBytes);
      if (typeof chunkSetting === 'string') throw new StoreError(status.INVALID_ARGUMENT, chunkSetting);
      const chunkBytes = chunkBytesForRate(chunkSetting, rateLimit);
      const file = await resolveFile(request.path);
      // O_NOFOLLOW: the real path has no link left in its last component; if one appeared since, refuse.
      handle = await open(file.realPath, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: unknown) => {
        throw isMissing(error) ? notFound(request.path) : error;
      });
      const opened = await handle.stat({ bigint: true });
      if (!opened.isFile()) throw notFound(request.path);
      const revision = revisionOf(opened);
      if (request.revision !== '' && request.revision !== revision) {
        throw revisionChanged(`"${request.path}" is at revision ${revision}, not ${request.revision}`);
      }
      const range = readRange(request.offset, request.length, Number(opened.size));
      if (!range.ok) throw new StoreError(range.code === 'invalid' ? status.INVALID_ARGUMENT : status.OUT_OF_RANGE, range.message);

      const maxInFlight = Math.max(2, Math.ceil(inFlightBytes / chunkBytes));
      const bucket = rateLimit ? new TokenBucket(rateLimit, chunkBytes, Date.now()) : undefined;
      let writeFailed: Error | undefined;
      // Full-size chunk buffers are read into again once the connection has taken them (the
      // write callback; grpc-js has copied them into its frame by then).
      const buffers = new BufferPool(chunkBytes, maxInFlight);
      let position = range.start;
      while (position < range.end) {
        // Back-pressure: read the next chunk only when the client has taken enough of the previous ones.
        while (!cancelled && (inFlight >= maxInFlight || call.writableNeedDrain)) await wait(call.writableNeedDrain ? 1000 : undefined);
        if (cancelled || writeFailed) break;
        const length = Math.min(chunkBytes, range.end - position);
        // The rate cap: sleep off the bucket's debt (write callbacks wake the loop early, so wait until the time has come).
        const until = Date.now() + (bucket?.take(length, Date.now()) ?? 0);
        while (!cancelled && Date.now() < until) await wait(until - Date.now());
        if (cancelled) break;

        const data = length === chunkBytes ? buffers.take() : allocateChunkData(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await handle.read(data, got, length - got, position + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        const now = await handle.stat({ bigint: true });
        if (revisionOf(now) !== revision || got < length) throw revisionChanged(`"${request.path}" changed while it was being sent`);
        if (cancelled) break;

        inFlight += 1;
        call.write({ offset: position, data }, (error?: Error | null) => {
          inFlight -= 1;
          if (error) writeFailed = error;
          else sent += length; // handed to the connection: what the store has served
          buffers.give(data);
          if (inFlight === 0) reportSent?.();
          wakeUp();
        });
        position += length;
      }
      if (cancelled) log.debug(`ReadFile "${request.path}" cancelled by the client at offset ${position}`);
      else if (writeFailed) log.debug(`ReadFile "${request.path}" failed to write: ${writeFailed.message}`);
      else call.end();
    } catch (error) {
      const failure = toStoreError(error, request.path);
      if (failure.code === status.INTERNAL) log.error(`ReadFile "${request.path}": ${(error as Error).stack ?? String(error)}`);
      if (!cancelled) call.emit('error', { code: failure.code, details: failure.details });
    } finally {
      await handle?.close().catch(() => undefined);
      // Tests and benchmarks add these up: the bytes this store served, once the last
      // write has reached the connection (or failed, for a cancelled call).
      let reported = false;
      reportSent = () => {
        if (reported) return;
        reported = true;
        log.debug(`ReadFile "${request.path}" sent ${sent} bytes`);
      };
      if (inFlight === 0) reportSent();
      else setTimeout(reportSent, 5000).unref();
    }
  }

  const unary =
    <Req, Res>(name: string, run: (request: Req) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      run(call.request).then(
        (response) => callback(null, response),
        (error: unknown) => {
          const failure = toStoreError(error, (call.request as { path?: string }).path ?? '');
          if (failure.code === status.INTERNAL) log.error(`${name}: ${(error as Error).stack ?? String(error)}`);
          callback({ code: failure.code, details: failure.details });
        },
      );
    };

  return {
    listFiles: unary('ListFiles', listFiles),
    statFile: unary('StatFile', statFile),
    readFile: (call) => void readFile(call),
  };
}

function toStoreError(error: unknown, path: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return new StoreError(status.PERMISSION_DENIED, `the store cannot read "${path}" (${code}).`);
  if (isMissing(error)) return notFound(path);
  return new StoreError(status.INTERNAL, `the store failed on "${path}": ${(error as Error).message}`);
}

/** Starts the store server on `options.listen`, serving `options.root` (which must be a folder). */
export async function startStoreServer(options: StoreServerOptions): Promise<StoreServer> {
  const root = await realpath(options.root);
  const digests = new DigestCache();
  const server = new Server({
    interceptors: options.token
      ? [
          bearerAuthInterceptor(options.token, {
            missing: 'missing "authorization: Bearer <token>" metadata; this store was started with a token (serve-store --token or --token-file).',
            mismatch: 'the bearer token does not match this store\'s token.',
          }),
        ]
      : [],
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
  });
  server.addService(modelStoreServiceWithChunkCodec, modelStoreService(root, digests, options.rateLimit));
  return {
    address: await bindServer(server, options.listen),
    root,
    digests,
    shutdown: (graceMs) => shutdownServer(server, graceMs),
  };
}
