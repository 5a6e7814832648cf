import { type ChildProcess, fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import { withMallocTuning } from '../sidecar/mallocTuning';
import { type Handshake, parseHandshake } from './handshake';

export interface SidecarLaunch {
  /** dist/sidecar.js inside the installed extension. */
  script: string;
  args: string[];
  token: string;
  onStderrLine: (line: string) => void;
  handshakeTimeoutMs: number;
}

export interface RunningSidecar {
  handshake: Handshake;
  child: ChildProcess;
  /** Resolves when the process has exited, with its code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Forks the sidecar with the extension host's own runtime, passes the token in its
 * environment (never on the command line, where `ps` shows it) and waits for the
 * handshake line.
 */
export function launchSidecar(launch: SidecarLaunch): Promise<RunningSidecar> {
  const child = fork(launch.script, launch.args, {
    execPath: process.execPath,
    execArgv: [],
    stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
    env: withMallocTuning({ ...process.env, SIDESTREAM_TOKEN: launch.token, ELECTRON_RUN_AS_NODE: '1' }),
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  createInterface({ input: child.stderr! }).on('line', launch.onStderrLine);

  return new Promise<RunningSidecar>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(message));
    };
    const timer = setTimeout(
      () => fail(`the sidecar printed no handshake within ${launch.handshakeTimeoutMs} ms`),
      launch.handshakeTimeoutMs,
    );
    child.once('error', (error) => fail(`cannot start the sidecar: ${error.message}`));
    void exited.then(({ code, signal }) => fail(`the sidecar exited before its handshake (code ${code}, signal ${signal})`));
    lines.on('line', (line) => {
      if (settled) {
        launch.onStderrLine(`[info] (stdout) ${line}`);
        return;
      }
      try {
        const handshake = parseHandshake(line);
        settled = true;
        clearTimeout(timer);
        resolve({ handshake, child, exited });
      } catch (error) {
        fail((error as Error).message);
      }
    });
  });
}

/** SIGTERM, then SIGKILL if the sidecar has not exited after `graceMs`. */
export async function stopSidecar(sidecar: RunningSidecar, graceMs = 3000): Promise<void> {
  const { child } = sidecar;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  child.kill('SIGTERM');
  await sidecar.exited;
  clearTimeout(timer);
}
