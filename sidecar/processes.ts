import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';

/**
 * Every child process the sidecar starts goes through here, so that shutdown can
 * end them all: no orphaned ffmpeg survives the sidecar.
 */
const running = new Set<ChildProcess>();

export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { ...options, shell: false });
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
  return child;
}

export function runningChildren(): number {
  return running.size;
}

/** SIGTERM to every child, SIGKILL to those still alive after `graceMs`. */
export async function terminateAllChildren(graceMs = 2000): Promise<void> {
  const children = [...running];
  if (children.length === 0) return;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

export interface CapturedRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short command to completion and captures its output, killing it after `timeoutMs`. */
export function captureOutput(command: string, args: readonly string[], timeoutMs = 5000): Promise<CapturedRun> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
  });
}
