import { Worker } from 'node:worker_threads';

/**
 * Hashes a partial file while it is being downloaded, on a worker thread: the download
 * says how far the file is complete from its start (`advance`), the worker reads that
 * prefix back (from the page cache) and hashes it, so the sha256 is ready moments after
 * the last byte lands instead of a whole second pass later. It hashes what is on disk,
 * so a byte damaged in transit or in the partial file is caught.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const hash = createHash('sha256');
const fd = openSync(workerData.path, 'r');
const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
let hashed = 0;
let target = 0;
let size = -1;
parentPort.on('message', (message) => {
  try {
    if (message.size !== undefined) size = message.size;
    target = size >= 0 ? size : Math.max(target, message.upTo);
    while (hashed < target) {
      const read = readSync(fd, buffer, 0, Math.min(buffer.length, target - hashed), hashed);
      if (read === 0) throw new Error('the partial file ends at ' + hashed + ' bytes, before ' + target);
      hash.update(read === buffer.length ? buffer : buffer.subarray(0, read));
      hashed += read;
    }
    if (size >= 0) {
      closeSync(fd);
      parentPort.postMessage({ digest: hash.digest('hex') });
    }
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
});
`;

/** Bytes of new prefix before the worker is told: fewer messages, bigger reads. */
const advanceStepBytes = 4 * 1024 * 1024;

export class PrefixHasher {
  private readonly worker: Worker;
  private readonly digest: Promise<string>;
  private told = 0;

  constructor(path: string) {
    this.worker = new Worker(workerSource, { eval: true, workerData: { path } });
    this.digest = new Promise<string>((resolve, reject) => {
      this.worker.on('message', (message: { digest?: string; error?: string }) => (message.digest ? resolve(message.digest) : reject(new Error(`hashing ${path}: ${message.error}`))));
      this.worker.on('error', reject);
      this.worker.on('exit', (code) => reject(new Error(`the hashing thread of ${path} exited (${code})`)));
    });
    this.digest.catch(() => undefined);
  }

  /** The file is complete from its start up to `bytes`. */
  advance(bytes: number): void {
    if (bytes - this.told < advanceStepBytes) return;
    this.told = bytes;
    this.worker.postMessage({ upTo: bytes });
  }

  /** The file is complete at `size` bytes: resolves with its sha256 (lowercase hex). */
  async finish(size: number): Promise<string> {
    this.worker.postMessage({ size });
    try {
      return await this.digest;
    } finally {
      void this.worker.terminate();
    }
  }

  cancel(): void {
    void this.worker.terminate();
  }
}
