import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { SidecarState } from './api';
import { SidecarClient } from './client';
import { readConfig, sidecarArgs } from './config';
import { type DiscoveryRecord, removeDiscoveryFile, writeDiscoveryFile } from './discovery';
import { logSidecarLine } from './log';
import { RestartPolicy } from './restartPolicy';
import { launchSidecar, type RunningSidecar, stopSidecar } from './sidecarProcess';
import type { SidecarStatusBar } from './statusBar';

export interface SidecarManagerDeps {
  sidecarScript: string;
  channel: vscode.LogOutputChannel;
  statusBar: SidecarStatusBar;
  discoveryPath: string;
  /** The model cache's folder when `sidestream.modelCache.folder` is empty. */
  defaultModelCacheFolder: string;
  handshakeTimeoutMs?: number;
  healthTimeoutMs?: number;
}

interface Connected {
  sidecar: RunningSidecar;
  client: SidecarClient;
}

/**
 * Owns the sidecar process: starts it, checks its health, restarts it with backoff
 * when it crashes (1, 2, 4, 8 s; gives up after 5 crashes in 3 minutes), and keeps
 * the status bar and the discovery file in step with it.
 */
export class SidecarManager implements vscode.Disposable {
  private stateValue: SidecarState = 'stopped';
  private readonly stateEmitter = new vscode.EventEmitter<SidecarState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private connected: Connected | undefined;
  private readonly policy = new RestartPolicy();
  private restartTimer: NodeJS.Timeout | undefined;
  /** Each start attempt gets a number; events from older attempts are ignored. */
  private attempt = 0;
  private disposed = false;

  constructor(private readonly deps: SidecarManagerDeps) {}

  get state(): SidecarState {
    return this.stateValue;
  }

  get pid(): number | undefined {
    return this.connected?.sidecar.handshake.pid;
  }

  get address(): string | undefined {
    return this.connected?.sidecar.handshake.address;
  }

  /** The client of the ready sidecar; waits up to `timeoutMs` for it to become ready. */
  async client(timeoutMs = 15_000): Promise<SidecarClient> {
    await this.whenReady(timeoutMs);
    if (!this.connected) throw new Error('the Sidestream sidecar is not running');
    return this.connected.client;
  }

  whenReady(timeoutMs = 15_000): Promise<void> {
    if (this.stateValue === 'ready') return Promise.resolve();
    if (this.stateValue === 'error') return Promise.reject(new Error('the Sidestream sidecar gave up after repeated crashes; run "Sidestream: Restart Sidecar"'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listener.dispose();
        reject(new Error(`the Sidestream sidecar was not ready within ${timeoutMs} ms (state: ${this.stateValue})`));
      }, timeoutMs);
      const listener = this.onDidChangeState((state) => {
        if (state !== 'ready' && state !== 'error') return;
        clearTimeout(timer);
        listener.dispose();
        if (state === 'ready') resolve();
        else reject(new Error('the Sidestream sidecar gave up after repeated crashes; run "Sidestream: Restart Sidecar"'));
      });
    });
  }

  start(): void {
    void this.launch(++this.attempt);
  }

  /** Stops the running sidecar (if any) and starts a fresh one, forgetting earlier crashes. */
  async restart(): Promise<void> {
    this.clearRestartTimer();
    this.policy.reset();
    const attempt = ++this.attempt;
    this.setState('restarting');
    await this.stopConnected();
    await this.launch(attempt);
  }

  private async launch(attempt: number): Promise<void> {
    if (this.disposed) return;
    if (this.stateValue !== 'restarting') this.setState('starting');
    const { channel } = this.deps;
    const token = randomBytes(32).toString('base64url');
    const args = sidecarArgs(readConfig(), this.deps.defaultModelCacheFolder);
    channel.info(`starting sidecar: ${this.deps.sidecarScript} ${args.join(' ')}`);

    let sidecar: RunningSidecar;
    try {
      sidecar = await launchSidecar({
        script: this.deps.sidecarScript,
        args,
        token,
        onStderrLine: (line) => logSidecarLine(channel, line),
        handshakeTimeoutMs: this.deps.handshakeTimeoutMs ?? 10_000,
      });
    } catch (error) {
      if (attempt === this.attempt) this.onCrash((error as Error).message);
      return;
    }
    if (attempt !== this.attempt || this.disposed) {
      await stopSidecar(sidecar);
      return;
    }

    const client = new SidecarClient(sidecar.handshake.address, token);
    try {
      await client.checkHealth(this.deps.healthTimeoutMs ?? 5000);
    } catch (error) {
      client.close();
      await stopSidecar(sidecar);
      if (attempt === this.attempt) this.onCrash(`the sidecar did not pass its health check: ${(error as Error).message}`);
      return;
    }
    if (attempt !== this.attempt || this.disposed) {
      client.close();
      await stopSidecar(sidecar);
      return;
    }

    const connected: Connected = { sidecar, client };
    this.connected = connected;
    void sidecar.exited.then(({ code, signal }) => {
      if (this.connected !== connected) return;
      this.connected = undefined;
      client.close();
      if (!this.disposed) this.onCrash(`the sidecar (pid ${sidecar.handshake.pid}) exited unexpectedly (code ${code}, signal ${signal})`);
    });

    try {
      await writeDiscoveryFile(this.deps.discoveryPath, this.discoveryRecord(sidecar, token));
    } catch (error) {
      channel.warn(`cannot write the discovery file ${this.deps.discoveryPath}: ${(error as Error).message}`);
    }
    channel.info(`sidecar ready: pid ${sidecar.handshake.pid}, ${sidecar.handshake.address}, version ${sidecar.handshake.version}`);
    this.setState('ready');
  }

  private discoveryRecord(sidecar: RunningSidecar, token: string): DiscoveryRecord {
    return {
      format: 1,
      address: sidecar.handshake.address,
      token,
      pid: sidecar.handshake.pid,
      version: sidecar.handshake.version,
      ownerPid: process.pid,
      workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.toString()),
      updatedAt: new Date().toISOString(),
    };
  }

  private onCrash(reason: string): void {
    const { channel } = this.deps;
    channel.error(reason);
    const decision = this.policy.onCrash(Date.now());
    if (decision.kind === 'give-up') {
      const message = `The Sidestream sidecar crashed ${decision.crashesInWindow} times within 3 minutes and was not restarted. Last error: ${reason}`;
      this.setState('error', message);
      void removeDiscoveryFile(this.deps.discoveryPath);
      void vscode.window.showErrorMessage(message, 'Restart', 'Show Log').then((choice) => {
        if (choice === 'Restart') void this.restart();
        if (choice === 'Show Log') channel.show();
      });
      return;
    }
    channel.warn(`restarting the sidecar in ${decision.delayMs / 1000} s (crash ${decision.crashesInWindow} of at most 5 in 3 minutes)`);
    this.setState('restarting', reason);
    this.clearRestartTimer();
    const attempt = ++this.attempt;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.launch(attempt);
    }, decision.delayMs);
  }

  private setState(state: SidecarState, message?: string): void {
    this.deps.statusBar.update(state, { handshake: this.connected?.sidecar.handshake, message });
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.stateEmitter.fire(state);
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  private async stopConnected(): Promise<void> {
    const connected = this.connected;
    this.connected = undefined;
    if (!connected) return;
    connected.client.close();
    await stopSidecar(connected.sidecar);
  }

  async stop(): Promise<void> {
    this.disposed = true;
    this.attempt++;
    this.clearRestartTimer();
    await Promise.all([this.stopConnected(), removeDiscoveryFile(this.deps.discoveryPath)]);
    this.setState('stopped');
  }

  dispose(): void {
    void this.stop();
    this.stateEmitter.dispose();
  }
}
