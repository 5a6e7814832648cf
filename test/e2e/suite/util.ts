import * as vscode from 'vscode';
import type { SidecarState, SidestreamApi } from '../../../extension/api';

export const extensionId = 'sidestream.sidestream';

export function sidestreamExtension(): vscode.Extension<SidestreamApi> {
  const extension = vscode.extensions.getExtension<SidestreamApi>(extensionId);
  if (!extension) throw new Error(`${extensionId} is not installed in this VS Code`);
  return extension;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Records every state the sidecar passes through from now on. */
export function recordStates(api: SidestreamApi): { states: SidecarState[]; dispose(): void } {
  const states: SidecarState[] = [];
  const listener = api.onDidChangeState((state) => states.push(state));
  return { states, dispose: () => listener.dispose() };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
