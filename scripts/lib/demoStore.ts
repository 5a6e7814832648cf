// A small model store for the `npm start` demo and the e2e scenario: a folder of sample
// model files (deterministic bytes, so their sha256 never changes) served by the
// reference store server, `node dist/sidecar.js serve-store DIR`.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { withMallocTuning } from '../../sidecar/mallocTuning';
import { createInterface } from 'node:readline';

/** `size` bytes from a xorshift generator seeded with `seed`: the same bytes every time. */
export function deterministicBytes(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, Math.floor(size / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < size; i++) bytes[i] = i & 0xff;
  return bytes;
}

export interface DemoStoreFile {
  path: string;
  size: number;
  sha256: string;
}

/**
 * Writes the sample files into `folder` (kept when already there with the right size):
 * `yolo/tiny-detector.onnx` of `detectorBytes` deterministic bytes, `labels/coco.txt`,
 * and a README. Returns each file's path in the store, size and sha256.
 */
export function writeDemoStoreFiles(folder: string, detectorBytes = 4 * 1024 * 1024): DemoStoreFile[] {
  const labels = ['person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light'];
  const files: Record<string, () => Buffer> = {
    'yolo/tiny-detector.onnx': () => deterministicBytes(detectorBytes, 0x5eed),
    'labels/coco.txt': () => Buffer.from(`${labels.join('\n')}\n`),
    'README.md': () =>
      Buffer.from('# Demo model store\n\nServed read-only by `node dist/sidecar.js serve-store`. The detector is made of deterministic bytes, not a real network.\n'),
  };
  return Object.entries(files).map(([path, make]) => {
    const file = join(folder, path);
    const bytes = make();
    // Rewritten only when missing or changed in size: the store's sha256 cache stays valid across runs.
    if (!(existsSync(file) && statSync(file).size === bytes.length)) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, bytes);
    }
    return { path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  });
}

export interface RunningDemoStore {
  address: string;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/** Starts `node SIDECAR serve-store DIR --listen HOST:PORT [--rate-limit R]` and waits for the line with its address. */
export async function startDemoStore(sidecarScript: string, folder: string, options: { listen?: string; rateLimit?: string } = {}): Promise<RunningDemoStore> {
  const args = [sidecarScript, 'serve-store', folder, '--listen', options.listen ?? '127.0.0.1:0'];
  if (options.rateLimit) args.push('--rate-limit', options.rateLimit);
  const child = spawn(process.execPath, args, { env: withMallocTuning(process.env), stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the model store sent no address within 10 s:\n${stderr.join('\n')}`)), 10_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { address: string }).address);
      } catch {
        reject(new Error(`the model store printed "${line}" instead of its address`));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the model store exited at start:\n${stderr.join('\n')}`));
    });
  });
  return {
    address,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
