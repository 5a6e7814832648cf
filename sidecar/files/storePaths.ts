// Pure rules of the model store protocol (proto/sidestream/store/v1/model_store.proto):
// which relative paths are well formed, where a real path may lie, and the ListFiles
// page token. No I/O here, so that the rules are unit tested on their own.
import { isAbsolute, relative, sep } from 'node:path';

export type PathVerdict = { ok: true; path: string } | { ok: false; message: string };

/**
 * Checks a store path: relative, "/"-separated, no empty, "." or ".." segments, no NUL,
 * no backslash. The message says what to fix (it goes back to the client as
 * INVALID_ARGUMENT).
 */
export function checkStorePath(path: string, what = 'path'): PathVerdict {
  if (path === '') return { ok: false, message: `${what} is empty; name a file relative to the store's root, such as "yolo/v8n.onnx".` };
  if (path.includes('\0')) return { ok: false, message: `${what} contains a NUL byte.` };
  if (path.includes('\\')) return { ok: false, message: `${what} "${path}" contains a backslash; separate folders with "/".` };
  if (path.startsWith('/')) return { ok: false, message: `${what} "${path}" starts with "/"; store paths are relative to the store's root.` };
  for (const segment of path.split('/')) {
    if (segment === '') return { ok: false, message: `${what} "${path}" has an empty segment ("//" or a trailing "/").` };
    if (segment === '.' || segment === '..') {
      return { ok: false, message: `${what} "${path}" has a "${segment}" segment; store paths name files under the root only.` };
    }
  }
  return { ok: true, path };
}

/** A ListFiles prefix: "" (everything), "yolo" or "yolo/". Returns the folder without its trailing "/". */
export function checkStorePrefix(prefix: string): PathVerdict {
  if (prefix === '') return { ok: true, path: '' };
  const folder = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const verdict = checkStorePath(folder, 'prefix');
  return verdict.ok ? verdict : { ok: false, message: verdict.message };
}

/** True when `realPath` is `realRoot` itself or lies below it (both already resolved by realpath). */
export function isInside(realRoot: string, realPath: string): boolean {
  const rel = relative(realRoot, realPath);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Store paths sort by code unit, the same order on every page. */
export const comparePaths = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// A page token is opaque to clients: base64url of "v1", the prefix and the last path
// of the page, NUL-separated (neither may hold a NUL).
export function encodePageToken(prefix: string, lastPath: string): string {
  return Buffer.from(`v1\0${prefix}\0${lastPath}`, 'utf8').toString('base64url');
}

export type PageTokenVerdict = { ok: true; after: string } | { ok: false; message: string };

/** Decodes a page token given out for the same prefix; "" is the first page (after ""). */
export function decodePageToken(token: string, prefix: string): PageTokenVerdict {
  if (token === '') return { ok: true, after: '' };
  const bad = { ok: false as const, message: 'page_token is not one this server gave out; pass the next_page_token of the previous page, or "" for the first page.' };
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return bad;
  const parts = Buffer.from(token, 'base64url').toString('utf8').split('\0');
  if (parts.length !== 3 || parts[0] !== 'v1' || parts[2] === '') return bad;
  if (parts[1] !== prefix) {
    return { ok: false, message: `page_token belongs to prefix "${parts[1]}", not "${prefix}"; keep the prefix the same across pages.` };
  }
  return { ok: true, after: parts[2]! };
}

export const defaultPageSize = 1000;
export const maxPageSize = 10_000;

/** page_size 0 → the default; above the maximum → the maximum; negative → an error message. */
export function effectivePageSize(requested: number): number | string {
  if (!Number.isInteger(requested) || requested < 0) return `page_size must be 0 (the default, ${defaultPageSize}) or positive; got ${requested}.`;
  return requested === 0 ? defaultPageSize : Math.min(requested, maxPageSize);
}

export const defaultChunkBytes = 1024 * 1024;
export const maxChunkBytes = 4 * 1024 * 1024;

/** chunk_bytes 0 → 1 MiB; above 4 MiB → 4 MiB; negative → an error message. */
export function effectiveChunkBytes(requested: number): number | string {
  if (!Number.isInteger(requested) || requested < 0) return `chunk_bytes must be 0 (the default, 1 MiB) or positive; got ${requested}.`;
  return requested === 0 ? defaultChunkBytes : Math.min(requested, maxChunkBytes);
}

export type RangeVerdict = { ok: true; start: number; end: number } | { ok: false; code: 'invalid' | 'out-of-range'; message: string };

/** The bytes [start, end) that ReadFile(offset, length) sends from a file of `size` bytes. */
export function readRange(offset: number, length: number, size: number): RangeVerdict {
  if (!Number.isSafeInteger(offset) || offset < 0) return { ok: false, code: 'invalid', message: `offset must be 0 or more; got ${offset}.` };
  if (!Number.isSafeInteger(length) || length < 0) return { ok: false, code: 'invalid', message: `length must be 0 (to the end) or more; got ${length}.` };
  if (offset > size) return { ok: false, code: 'out-of-range', message: `offset ${offset} is beyond the end of the file (${size} bytes).` };
  const end = length === 0 ? size : Math.min(size, offset + length);
  return { ok: true, start: offset, end };
}

/**
 * A token bucket for one stream: `rate` bytes per second, at most `capacity` bytes saved
 * up. take(n) spends n bytes (going into debt if need be) and says how many ms to wait
 * before sending them, so that over any stretch the stream averages at most `rate`.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: number,
    readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  take(bytes: number, now: number): number {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate;
  }
}

/** With a rate cap, chunks no larger than an eighth of a second's worth (at least 16 KiB), so the cap is smooth. */
export function chunkBytesForRate(chunkBytes: number, rate: number | undefined): number {
  if (!rate) return chunkBytes;
  return Math.max(16 * 1024, Math.min(chunkBytes, Math.floor(rate / 8)));
}
