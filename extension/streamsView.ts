import type { ClientReadableStream } from '@grpc/grpc-js';
import * as vscode from 'vscode';
import { type StreamInfo, type StreamList, StreamState } from '../proto/gen/sidestream/v1/streams';
import type { OpenedStreams } from './openedStreams';
import { tileState } from './tileFeed';

function stateIcon(state: StreamState): vscode.ThemeIcon {
  switch (state) {
    case StreamState.STREAM_STATE_LIVE:
      return new vscode.ThemeIcon('circle-filled', new vscode.ThemeColor('testing.iconPassed'));
    case StreamState.STREAM_STATE_STARTING:
    case StreamState.STREAM_STATE_RECONNECTING:
      return new vscode.ThemeIcon('loading~spin');
    case StreamState.STREAM_STATE_STALLED:
      return new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
    case StreamState.STREAM_STATE_FAILED:
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
    default:
      return new vscode.ThemeIcon('circle-outline');
  }
}

/**
 * The Streams view: the streams this window opened, as the sidecar reports them
 * (WatchStreams pushes the list whenever one opens, closes or changes state), with
 * state icon, resolution and frame rate, and inline actions.
 */
export class StreamsView implements vscode.TreeDataProvider<StreamInfo>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<StreamInfo | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private infos: StreamInfo[] = [];
  private watch: ClientReadableStream<StreamList> | undefined;
  private readonly disposables: vscode.Disposable[];
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly streams: OpenedStreams) {
    this.disposables = [streams.onDidChange(() => this.changed.fire(undefined)), streams.onDidReopen(() => this.connect())];
    this.connect();
  }

  private connect(): void {
    this.watch?.cancel();
    void this.streams.media().then(
      (media) => {
        const call = media.watchAll(200);
        this.watch = call;
        call.on('data', (list: StreamList) => {
          this.infos = list.streams;
          this.changed.fire(undefined);
        });
        call.on('error', () => {
          if (this.watch !== call) return;
          this.scheduleReconnect();
        });
      },
      () => this.scheduleReconnect(),
    );
  }

  private scheduleReconnect(): void {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect();
    }, 2000);
  }

  getChildren(element?: StreamInfo): StreamInfo[] {
    if (element) return [];
    const ours = new Set(this.streams.list().map((s) => s.id));
    return this.infos.filter((info) => ours.has(info.id));
  }

  getTreeItem(info: StreamInfo): vscode.TreeItem {
    const item = new vscode.TreeItem(info.name, vscode.TreeItemCollapsibleState.None);
    const video = info.source?.streams.find((s) => s.type === 'video');
    const recording = this.streams.recordingOf(info.id);
    const parts: string[] = [tileState(info.state)];
    if (video?.width) parts.push(`${video.width}×${video.height}`);
    if (video?.frameRate) parts.push(`${Math.round(video.frameRate * 10) / 10} fps`);
    if (recording) parts.push('● recording');
    item.id = info.id;
    item.description = parts.join(' · ');
    item.tooltip = new vscode.MarkdownString(`**${info.name}**\n\n\`${info.uri}\`\n\n${info.reason ? `${info.reason}\n\n` : ''}${info.decoder}`);
    item.iconPath = stateIcon(info.state);
    item.contextValue = recording ? 'stream.recording' : 'stream';
    item.command = { command: 'sidestream.showStreamInPanel', title: 'Show in Panel', arguments: [info] };
    return item;
  }

  dispose(): void {
    if (this.retry) clearTimeout(this.retry);
    this.watch?.cancel();
    this.changed.dispose();
    for (const disposable of this.disposables) disposable.dispose();
  }
}
