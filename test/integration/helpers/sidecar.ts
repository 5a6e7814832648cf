// Starts the real sidecar (dist/sidecar.js, built on demand) as a separate process
// and gives tests what they need to talk to it and to clean it up.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withMallocTuning } from '../../../sidecar/mallocTuning';
import { createInterface } from 'node:readline';

export const repoRoot = join(__dirname, '..', '..', '..');
export const sidecarScript = join(repoRoot, 'dist', 'sidecar.js');
export const packageVersion: string = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;

/** A fresh token, long enough for the sidecar. */
export const newToken = (): string => randomBytes(24).toString('hex');

function newestMtime(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

let built = false;

/** Runs `npm run build` when dist/sidecar.js is missing or older than what it is built from. */
export function ensureSidecarBuilt(): void {
  if (built) return;
  const sources = ['sidecar', join('proto', 'gen'), 'package.json', join('scripts', 'build.mjs')].map((p) => join(repoRoot, p));
  const newestSource = Math.max(...sources.filter(existsSync).map(newestMtime));
  if (!existsSync(sidecarScript) || statSync(sidecarScript).mtimeMs < newestSource) {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const run = spawnSync(npm, ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`npm run build failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  }
  built = true;
}

/** One model cache folder for this test process's sidecars, unless a test passes --cache-dir: never the user's own. */
let testCacheDir: string | undefined;

/**
 * The test runner's environment without any SIDESTREAM_* variable, so that tests decide
 * them all, except SIDESTREAM_CACHE_DIR: a temporary folder, so that no sidecar of a
 * test touches the user's model cache.
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('SIDESTREAM_')) env[key] = value;
  testCacheDir ??= mkdtempSync(join(tmpdir(), 'sidestream-test-cache-'));
  // The environment the extension gives its sidecar (mallocTuning.ts), so that tests and benchmarks run the same sidecar.
  return withMallocTuning({ ...env, SIDESTREAM_CACHE_DIR: testCacheDir, ...extra });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningSidecar {
  address: string;
  pid: number;
  version: string;
  /** The raw handshake line. */
  handshakeLine: string;
  child: ChildProcess;
  /** Every stdout line so far, the handshake first. */
  stdoutLines: string[];
  stderrLines: string[];
  exited: Promise<Exit>;
  /** Waits up to `ms` for the sidecar to exit; rejects with its stderr if it does not. */
  waitForExit(ms: number): Promise<Exit>;
  /** SIGKILLs the sidecar's whole process group (it and anything it started); safe to call twice. */
  kill(): void;
}

export interface StartOptions {
  args?: string[];
  /** Added to a clean environment; SIDESTREAM_TOKEN defaults to a fresh token unless set to undefined here. */
  env?: NodeJS.ProcessEnv;
  token?: string;
  handshakeTimeoutMs?: number;
}

/** Kills a process group, ignoring one that is already gone. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Spawns `node dist/sidecar.js` in its own process group (so that cleanup and orphan
 * checks cover everything it starts), with stdin a pipe from this process, and
 * waits for the handshake line.
 */
export async function startSidecar(options: StartOptions = {}): Promise<RunningSidecar> {
  ensureSidecarBuilt();
  const token = options.token ?? newToken();
  const child = spawn(process.execPath, [sidecarScript, ...(options.args ?? [])], {
    cwd: repoRoot,
    env: cleanEnv({ SIDESTREAM_TOKEN: token, ...options.env }),
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const pgid = child.pid!;
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderrLines.push(line));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const kill = () => killGroup(pgid);

  const handshakeLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`no handshake within ${options.handshakeTimeoutMs ?? 10_000} ms; stderr:\n${stderrLines.join('\n')}`));
    }, options.handshakeTimeoutMs ?? 10_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      stdoutLines.push(line);
      if (stdoutLines.length === 1) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the sidecar exited before its handshake (code ${code}, signal ${signal}); stderr:\n${stderrLines.join('\n')}`));
    });
  });
  const handshake = JSON.parse(handshakeLine) as { address: string; pid: number; version: string };

  return {
    ...handshake,
    handshakeLine,
    child,
    stdoutLines,
    stderrLines,
    exited,
    waitForExit: (ms) => withTimeout(exited, ms, () => `the sidecar (pid ${pgid}) did not exit within ${ms} ms; stderr:\n${stderrLines.join('\n')}`),
    kill,
  };
}

export interface CompletedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the sidecar to completion (for --help, --version, usage errors); kills it after `timeoutMs`. */
export function runSidecar(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 10_000): CompletedRun {
  ensureSidecarBuilt();
  const run = spawnSync(process.execPath, [sidecarScript, ...args], {
    cwd: repoRoot,
    env: cleanEnv(env),
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message())), ms);
    }),
  ]);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
