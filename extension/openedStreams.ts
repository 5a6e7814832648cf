import * as vscode from 'vscode';
import { RecordingState } from '../proto/gen/sidestream/v1/recording';
import type { SidecarClient } from './client';
import type { SidecarManager } from './sidecarManager';
import { MediaClient } from './streams';

export interface OpenedStream {
  id: string;
  name: string;
  uri: string;
}

export interface ActiveRecording {
  id: string;
  streamId: string;
  startedAtMs: number;
  file: string;
}

const recentKey = 'sidestream.recentSources';
const maxRecent = 10;

/**
 * The streams this window opened, with the recordings it runs. They belong to the
 * window, not to one sidecar process: when the sidecar is restarted (it crashed, or a
 * setting changed) they are opened again on the new one under the same ids, and
 * `onDidReopen` tells the panel to subscribe again.
 */
export class OpenedStreams implements vscode.Disposable {
  private readonly streams = new Map<string, OpenedStream>();
  private readonly recordings = new Map<string, ActiveRecording>();
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly reopened = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  readonly onDidReopen = this.reopened.event;
  private readonly clients = new WeakMap<SidecarClient, MediaClient>();
  private lastClient: SidecarClient | undefined;
  private counter = 0;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly manager: SidecarManager,
    private readonly memento: vscode.Memento,
  ) {
    this.subscription = manager.onDidChangeState((state) => {
      if (state === 'ready') void this.reopenAfterRestart();
    });
  }

  /** The Streams/Recording client of the running sidecar (waits for it to be ready). */
  async media(): Promise<MediaClient> {
    const client = await this.manager.client();
    let media = this.clients.get(client);
    if (!media) {
      media = new MediaClient(client);
      this.clients.set(client, media);
    }
    this.lastClient = client;
    return media;
  }

  list(): OpenedStream[] {
    return [...this.streams.values()];
  }

  get(id: string): OpenedStream | undefined {
    return this.streams.get(id);
  }

  async open(uri: string, name = ''): Promise<OpenedStream> {
    const media = await this.media();
    const id = `s${Date.now().toString(36)}${(++this.counter).toString(36)}`;
    const info = await media.open({ uri, id, ...(name ? { name } : {}) });
    const stream = { id: info.id, name: info.name, uri: info.uri };
    this.streams.set(stream.id, stream);
    await this.remember(uri);
    this.fire();
    return stream;
  }

  async close(id: string): Promise<void> {
    const recording = this.recordings.get(id);
    if (recording) await this.stopRecording(id).catch(() => undefined);
    this.streams.delete(id);
    this.fire();
    await (await this.media()).close(id).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.list().map((stream) => this.close(stream.id)));
  }

  recordingOf(streamId: string): ActiveRecording | undefined {
    return this.recordings.get(streamId);
  }

  async startRecording(streamId: string, folder: string): Promise<ActiveRecording> {
    const existing = this.recordings.get(streamId);
    if (existing) return existing;
    const recording = await (await this.media()).startRecording({ streamId, folder });
    const active = { id: recording.id, streamId, startedAtMs: recording.startedAtUs / 1000, file: recording.files[0] ?? '' };
    this.recordings.set(streamId, active);
    this.fire();
    return active;
  }

  /** Stops the stream's recording; resolves with the finished recording's first file. */
  async stopRecording(streamId: string): Promise<{ file: string; failed: boolean; reason: string } | undefined> {
    const active = this.recordings.get(streamId);
    if (!active) return undefined;
    this.recordings.delete(streamId);
    this.fire();
    const stopped = await (await this.media()).stopRecording(active.id);
    return { file: stopped.files[0] ?? active.file, failed: stopped.state === RecordingState.RECORDING_STATE_FAILED, reason: stopped.reason };
  }

  recentSources(): string[] {
    return this.memento.get<string[]>(recentKey, []);
  }

  private async remember(uri: string): Promise<void> {
    const recent = [uri, ...this.recentSources().filter((entry) => entry !== uri)].slice(0, maxRecent);
    await this.memento.update(recentKey, recent);
  }

  private async reopenAfterRestart(): Promise<void> {
    if (this.streams.size === 0) return;
    const client = await this.manager.client().catch(() => undefined);
    if (!client || client === this.lastClient) return;
    const media = await this.media();
    // Recordings ended with the old sidecar (their files are complete up to its end).
    this.recordings.clear();
    await Promise.all(this.list().map((stream) => media.open({ uri: stream.uri, id: stream.id, name: stream.name }).catch(() => undefined)));
    this.fire();
    this.reopened.fire();
  }

  private fire(): void {
    void vscode.commands.executeCommand('setContext', 'sidestream.hasStreams', this.streams.size > 0);
    void vscode.commands.executeCommand('setContext', 'sidestream.isRecording', this.recordings.size > 0);
    this.changed.fire();
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
    this.reopened.dispose();
  }
}
