import * as vscode from 'vscode';
import { type HostMessage, parsePanelState, parseWebviewMessage, type TileInfo, type WebviewMessage } from '../webview/protocol';
import type { OpenedStreams } from './openedStreams';
import { panelHtml } from './panelHtml';
import { previewSource } from './previewSource';
import { recordingFolder, snapshotFolder } from './folders';
import { TileFeed } from './tileFeed';

export const streamPanelViewType = 'sidestream.streamPanel';

/**
 * The stream panel: one webview with a tile per stream. It tells the webview where to
 * read each tile's JPEG frames (the sidecar's preview endpoint, through
 * `asExternalUri` so that it works in remote windows and code-server too), posts state
 * and analytics, and carries out what the person does in it (record, snapshot, close,
 * pause, options). The frames do not pass through the extension host: in remote
 * windows and code-server, every byte posted to a webview is deflated there. When
 * hidden the panel takes no frames; when VS Code reloads, the serializer brings it
 * back with its streams.
 */
export class StreamPanel implements vscode.Disposable {
  private static current: StreamPanel | undefined;
  private readonly feeds = new Map<string, TileFeed>();
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private nextSnapshot = 1;
  private readonly snapshots = new Map<number, (png: Uint8Array) => void>();
  /** Where the webview reads frames: the preview endpoint as this window reaches it, and its token. */
  private preview: { base: string; token: string } | undefined;
  /** What the page's CSP lets it connect to (see previewSource), as of when the page was made. */
  private pageSource = '';

  static show(context: vscode.ExtensionContext, streams: OpenedStreams, streamIds: string[] = []): StreamPanel {
    if (StreamPanel.current) {
      StreamPanel.current.panel.reveal();
      for (const id of streamIds) StreamPanel.current.addStream(id);
      return StreamPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(streamPanelViewType, 'Sidestream Streams', vscode.ViewColumn.Active, StreamPanel.options(context));
    return new StreamPanel(panel, context, streams, streamIds);
  }

  static options(context: vscode.ExtensionContext): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    // The page is kept while hidden (its tiles, plots and state stay); it gets no frames then.
    return { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist')] };
  }

  static serializer(context: vscode.ExtensionContext, streams: OpenedStreams): vscode.WebviewPanelSerializer {
    return {
      async deserializeWebviewPanel(panel, state) {
        panel.webview.options = StreamPanel.options(context);
        const saved = parsePanelState(state);
        // The streams the panel showed before the reload: opened again by their URIs when
        // this window (a new extension host, a new sidecar) does not have them.
        const ids: string[] = [];
        for (const tile of saved?.tiles ?? []) {
          const stream = streams.get(tile.streamId) ?? (await streams.open(tile.uri, tile.name).catch(() => undefined));
          if (stream) ids.push(stream.id);
        }
        new StreamPanel(panel, context, streams, ids);
      },
    };
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly context: vscode.ExtensionContext,
    private readonly streams: OpenedStreams,
    streamIds: string[],
  ) {
    StreamPanel.current = this;
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(message)),
      panel.onDidChangeViewState(() => this.onVisibility()),
      streams.onDidChange(() => this.syncWithStreams()),
      streams.onDidReopen(() => void this.restartFeeds()),
    );
    const ids = streamIds.length > 0 ? streamIds : streams.list().map((s) => s.id);
    for (const id of ids) this.addStream(id);
    void this.connectPreviews();
  }

  /**
   * Finds the sidecar's preview endpoint and gives it to the page: a new page when the
   * page's CSP does not allow the endpoint's source (the first page, or a restarted
   * sidecar behind another origin), else a message.
   */
  private async connectPreviews(): Promise<void> {
    try {
      const media = await this.streams.media();
      const endpoint = await media.previewEndpoint();
      const external = await vscode.env.asExternalUri(vscode.Uri.parse(endpoint.url));
      const base = external.toString(true).replace(/\/+$/, '');
      this.preview = { base, token: endpoint.token };
      const source = previewSource(base);
      if (source !== this.pageSource) {
        this.pageSource = source;
        this.ready = false;
        this.panel.webview.html = panelHtml(this.panel.webview, this.context.extensionUri, source);
      } else this.post({ type: 'preview', ...this.preview });
    } catch (error) {
      void vscode.window.showErrorMessage(`Sidestream: the stream panel cannot reach the sidecar's previews: ${(error as Error).message}`);
    }
  }

  get streamIds(): string[] {
    return [...this.feeds.keys()];
  }

  /** Adds a tile for an opened stream (nothing if it has one). */
  addStream(streamId: string): void {
    if (this.feeds.has(streamId) || !this.streams.get(streamId)) return;
    void this.streams.media().then((media) => {
      if (this.feeds.has(streamId) || !this.streams.get(streamId)) return;
      const feed = new TileFeed(streamId, media, {
        feed: (query) => this.post({ type: 'feed', streamId, query }),
        stats: (stats) => this.post({ type: 'stats', stats }),
      });
      this.feeds.set(streamId, feed);
      feed.setPaused(!this.panel.visible);
      feed.start();
      this.postTiles();
    });
  }

  private post(message: HostMessage): void {
    if (!this.ready) return;
    void this.panel.webview.postMessage(message);
  }

  private postTiles(): void {
    const tiles: TileInfo[] = this.streamIds.flatMap((id) => {
      const stream = this.streams.get(id);
      return stream ? [{ streamId: id, name: stream.name, uri: stream.uri }] : [];
    });
    this.post({ type: 'tiles', tiles });
    for (const id of this.streamIds) {
      const recording = this.streams.recordingOf(id);
      if (recording) this.post({ type: 'recording', recording: { streamId: id, state: 'recording', startedAtMs: recording.startedAtMs, file: recording.file, reason: '' } });
    }
  }

  private syncWithStreams(): void {
    for (const [id, feed] of this.feeds) {
      if (this.streams.get(id)) continue;
      feed.dispose();
      this.feeds.delete(id);
    }
    this.postTiles();
  }

  private async restartFeeds(): Promise<void> {
    const media = await this.streams.media();
    await this.connectPreviews();
    for (const feed of this.feeds.values()) feed.start(media);
  }

  private onVisibility(): void {
    for (const feed of this.feeds.values()) feed.setPaused(!this.panel.visible);
  }

  private onMessage(raw: unknown): void {
    const message = parseWebviewMessage(raw);
    if (!message) {
      console.warn('Sidestream: dropped a malformed message from the stream panel', raw);
      return;
    }
    void this.handle(message).catch((error: unknown) => void vscode.window.showErrorMessage(`Sidestream: ${(error as { details?: string; message?: string }).details ?? (error as Error).message}`));
  }

  private async handle(message: WebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        // A new page: it knows nothing yet.
        this.ready = true;
        if (this.preview) this.post({ type: 'preview', ...this.preview });
        this.postTiles();
        for (const feed of this.feeds.values()) if (!feed.setPaused(!this.panel.visible)) feed.repost();
        return;
      case 'painted':
        for (const painted of message.frames) this.feeds.get(painted.streamId)?.painted(painted.latencyMs);
        return;
      case 'tileSize':
        this.feeds.get(message.streamId)?.resize(message.width);
        return;
      case 'options':
        this.feeds.get(message.streamId)?.setOptions(message.policy, message.maxFps, message.width);
        return;
      case 'openFile':
        await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(message.path));
        return;
      case 'snapshotData':
        this.snapshots.get(message.requestId)?.(message.png);
        this.snapshots.delete(message.requestId);
        return;
      case 'error':
        console.warn(`Sidestream stream panel: ${message.message}`);
        return;
      case 'action':
        return this.act(message.streamId, message.action);
    }
  }

  private async act(streamId: string, action: Extract<WebviewMessage, { type: 'action' }>['action']): Promise<void> {
    switch (action) {
      case 'record':
        await this.record(streamId);
        return;
      case 'stopRecording':
        await this.stopRecording(streamId);
        return;
      case 'snapshot':
        await this.snapshot(streamId);
        return;
      case 'close':
        await this.streams.close(streamId);
        return;
      case 'pause':
        this.feeds.get(streamId)?.setPaused(true);
        return;
      case 'resume':
        this.feeds.get(streamId)?.setPaused(!this.panel.visible);
        return;
    }
  }

  async record(streamId: string): Promise<void> {
    const recording = await this.streams.startRecording(streamId, await recordingFolder(this.context));
    this.post({ type: 'recording', recording: { streamId, state: 'recording', startedAtMs: recording.startedAtMs, file: recording.file, reason: '' } });
  }

  async stopRecording(streamId: string): Promise<string | undefined> {
    const stopped = await this.streams.stopRecording(streamId);
    if (!stopped) return undefined;
    this.post({ type: 'recording', recording: { streamId, state: stopped.failed ? 'failed' : 'stopped', startedAtMs: 0, file: stopped.file, reason: stopped.reason } });
    return stopped.file;
  }

  /** Asks the webview for the tile's picture as PNG and writes it into the workspace. */
  async snapshot(streamId: string): Promise<vscode.Uri> {
    const requestId = this.nextSnapshot++;
    const png = await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.snapshots.delete(requestId);
        reject(new Error('the panel did not answer the snapshot request (is the tile showing a picture?)'));
      }, 10_000);
      this.snapshots.set(requestId, (data) => {
        clearTimeout(timer);
        resolve(data);
      });
      this.post({ type: 'snapshot', requestId, streamId });
    });
    const name = (this.streams.get(streamId)?.name ?? streamId).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '') || 'stream';
    const folder = await snapshotFolder(this.context);
    const uri = vscode.Uri.joinPath(folder, `${name}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.png`);
    await vscode.workspace.fs.writeFile(uri, png);
    void vscode.window.showInformationMessage(`Snapshot saved: ${vscode.workspace.asRelativePath(uri)}`, 'Open').then((choice) => {
      if (choice) void vscode.commands.executeCommand('vscode.open', uri);
    });
    return uri;
  }

  dispose(): void {
    if (StreamPanel.current === this) StreamPanel.current = undefined;
    for (const feed of this.feeds.values()) feed.dispose();
    this.feeds.clear();
    for (const disposable of this.disposables) disposable.dispose();
    this.panel.dispose();
  }
}
