import type * as vscode from 'vscode';
import type { GetInfoResponse } from '../proto/gen/sidestream/v1/sidecar';

export type SidecarState = 'starting' | 'ready' | 'restarting' | 'error' | 'stopped';

/** What `activate()` returns: for other extensions and for the extension-host test suite. */
export interface SidestreamApi {
  readonly state: SidecarState;
  readonly onDidChangeState: vscode.Event<SidecarState>;
  /** Resolves once the sidecar is ready; rejects on timeout or when it gave up ('error'). */
  whenReady(timeoutMs?: number): Promise<void>;
  sidecarPid(): number | undefined;
  getInfo(): Promise<GetInfoResponse>;
  statusBarText(): string;
  discoveryFilePath(): string;
}
