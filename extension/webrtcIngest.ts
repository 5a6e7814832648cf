import type { ClientReadableStream } from '@grpc/grpc-js';
import * as vscode from 'vscode';
import { type FeedInfo, type FeedList, SidecarServiceClient } from '../proto/gen/sidestream/v1/sidecar';
import { StreamState } from '../proto/gen/sidestream/v1/streams';
import type { SidecarClient } from './client';
import type { OpenedStreams } from './openedStreams';
import type { SidecarManager } from './sidecarManager';

export interface WhipEndpoint {
  /** Where publishers POST, `<url>/<name>`. */
  url: string;
  publishUrl: string;
  token: string;
}

/**
 * "Sidestream: Start WebRTC Ingest": shows the sidecar's WHIP endpoint and token, and
 * from then on watches its publishers (WatchFeeds): each one that connects is opened
 * as a `whip:<name>` stream, so it appears in the Streams view. The watch follows the
 * sidecar across restarts.
 */
export class WebrtcIngest implements vscode.Disposable {
  private watching = false;
  private call: ClientReadableStream<FeedList> | undefined;
  private watchedClient: SidecarClient | undefined;
  private feeds: FeedInfo[] = [];
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly manager: SidecarManager,
    private readonly streams: OpenedStreams,
    private readonly channel: vscode.LogOutputChannel,
  ) {
    this.subscription = manager.onDidChangeState((state) => {
      if (state === 'ready' && this.watching) void this.watch();
    });
  }

  /** The running sidecar's WHIP endpoint; rejects when WebRTC ingest is off. */
  async endpoint(timeoutMs = 15_000): Promise<WhipEndpoint> {
    const client = await this.manager.client(timeoutMs);
    const info = await client.getInfo(timeoutMs);
    if (!info.whipUrl) throw new Error('WebRTC ingest is off in this sidecar (setting sidestream.webrtc.listenAddress is "off")');
    return { url: info.whipUrl, publishUrl: info.whipPublishUrl, token: client.token };
  }

  /** The publishers connected now (empty when ingest is off). */
  async publishers(): Promise<FeedInfo[]> {
    await this.watch();
    return this.feeds;
  }

  /** Shows the endpoint with copy buttons and starts opening publishers as streams. */
  async start(): Promise<WhipEndpoint> {
    const endpoint = await this.endpoint();
    this.watching = true;
    await this.watch();
    const example = `${endpoint.url}/obs`;
    this.channel.info(`WebRTC ingest: POST offers to ${endpoint.url}/<name> (e.g. ${example}); publisher page ${endpoint.publishUrl}`);
    void vscode.window
      .showInformationMessage(
        `Sidestream WebRTC ingest: WHIP URL ${endpoint.url}/<name> (e.g. ${example}) with the sidecar's token as bearer token. Publishers appear in the Streams view as whip:<name>.`,
        'Copy URL',
        'Copy Token',
        'Open Publisher Page',
      )
      .then(async (choice) => {
        if (choice === 'Copy URL') await vscode.env.clipboard.writeText(example);
        if (choice === 'Copy Token') await vscode.env.clipboard.writeText(endpoint.token);
        if (choice === 'Open Publisher Page') {
          // The token travels in the fragment, which the browser keeps to itself (never in a request or a server log).
          await vscode.env.openExternal(vscode.Uri.parse(`${endpoint.publishUrl}#token=${encodeURIComponent(endpoint.token)}`));
        }
      });
    return endpoint;
  }

  private async watch(): Promise<void> {
    const client = await this.manager.client().catch(() => undefined);
    if (!client || (client === this.watchedClient && this.call)) return;
    this.call?.cancel();
    this.watchedClient = client;
    const call = client.service(SidecarServiceClient).watchFeeds({});
    this.call = call;
    const first = new Promise<void>((resolve) => {
      call.on('data', (list: FeedList) => {
        const before = new Set(this.feeds.map((feed) => feed.name));
        this.feeds = list.feeds;
        resolve();
        if (!this.watching) return;
        for (const feed of list.feeds) if (!before.has(feed.name)) void this.onPublisher(feed);
      });
      call.on('error', () => {
        if (this.call === call) this.call = undefined;
        resolve();
      });
      call.on('end', () => resolve());
    });
    await Promise.race([first, new Promise((resolve) => setTimeout(resolve, 2000))]);
  }

  /** A publisher connected: its stream is opened (again, if one of that name ended before). */
  private async onPublisher(feed: FeedInfo): Promise<void> {
    try {
      const media = await this.streams.media();
      const open = this.streams.list().find((stream) => stream.uri === feed.uri);
      if (open) {
        const state = (await media.list()).find((info) => info.id === open.id)?.state;
        if (state !== StreamState.STREAM_STATE_ENDED && state !== StreamState.STREAM_STATE_FAILED) return;
        await this.streams.close(open.id);
      }
      const stream = await this.streams.open(feed.uri, feed.name);
      this.channel.info(`WebRTC publisher connected: ${feed.uri} (${[feed.videoCodec, feed.audioCodec].filter(Boolean).join(' + ')}${feed.remoteAddress ? ` from ${feed.remoteAddress}` : ''})`);
      void vscode.window.showInformationMessage(`Sidestream: WebRTC publisher "${feed.name}" connected`, 'Show in Panel').then((choice) => {
        if (choice) void vscode.commands.executeCommand('sidestream.showStreamInPanel', stream.id);
      });
    } catch (error) {
      this.channel.warn(`cannot open ${feed.uri}: ${(error as Error).message}`);
    }
  }

  dispose(): void {
    this.watching = false;
    this.call?.cancel();
    this.subscription.dispose();
  }
}
