import type { ServerWritableStream } from '@grpc/grpc-js';
import type { FeedInfo, FeedList, GetInfoResponse, SidecarServiceServer, ToolInfo, WatchFeedsRequest } from '../proto/gen/sidestream/v1/sidecar';
import type { FeedRegistry, MediaFeed } from './media/feeds';
import type { ResolvedTool } from './tools';
import type { WhipHandle } from './webrtc/start';
import { version } from './version';

export interface InfoSource {
  address: () => string;
  tools: () => Promise<{ ffmpeg: ResolvedTool; ffprobe: ResolvedTool }>;
  hwaccels: () => Promise<string[]>;
  capabilities: () => string[];
  whip?: () => WhipHandle | undefined;
  previews?: { url: string; token: string };
  feeds?: FeedRegistry;
}

const toToolInfo = (tool: ResolvedTool): ToolInfo => ({ ...tool });

export function sidecarService(source: InfoSource): SidecarServiceServer {
  return {
    getInfo: (_call, callback) => {
      Promise.all([source.tools(), source.hwaccels()]).then(
        ([{ ffmpeg, ffprobe }, hwaccels]) => {
          const info: GetInfoResponse = {
            version,
            pid: process.pid,
            uptimeSeconds: process.uptime(),
            address: source.address(),
            ffmpeg: toToolInfo(ffmpeg),
            ffprobe: toToolInfo(ffprobe),
            capabilities: source.capabilities(),
            runtimeVersion: process.version,
            platform: `${process.platform}-${process.arch}`,
            hwaccels,
            whipUrl: source.whip?.()?.url ?? '',
            whipPublishUrl: source.whip?.()?.publishUrl ?? '',
            previewUrl: source.previews?.url ?? '',
            previewToken: source.previews?.token ?? '',
          };
          callback(null, info);
        },
        (error: Error) => callback(error),
      );
    },
    watchFeeds: (call) => watchFeeds(source.feeds, call),
  };
}

/** What a feed tells about itself (a WHIP session has codecs, an address, a start time). */
function feedInfo(feed: MediaFeed): FeedInfo {
  const details = feed as Partial<{ videoCodec: string; audioCodec: string; remoteAddress: string; connectedAtUs: number }>;
  return {
    name: feed.name,
    uri: `whip:${feed.name}`,
    videoCodec: details.videoCodec ?? '',
    audioCodec: details.audioCodec ?? '',
    remoteAddress: details.remoteAddress ?? '',
    connectedAtUs: details.connectedAtUs ?? 0,
  };
}

function watchFeeds(feeds: FeedRegistry | undefined, call: ServerWritableStream<WatchFeedsRequest, FeedList>): void {
  const send = () => {
    if (call.cancelled || call.writableEnded) return;
    const list = feeds ? feeds.names().map((name) => feeds.get(name)!).map(feedInfo) : [];
    call.write({ feeds: list });
  };
  feeds?.on('added', send);
  feeds?.on('removed', send);
  const cleanup = () => {
    feeds?.off('added', send);
    feeds?.off('removed', send);
  };
  call.once('cancelled', cleanup);
  call.once('close', cleanup);
  call.once('error', cleanup);
  send();
}
