import { Server } from '@grpc/grpc-js';
import { HealthService } from '../proto/gen/grpc/health/v1/health';
import { RecordingServiceService } from '../proto/gen/sidestream/v1/recording';
import { ModelsServiceService } from '../proto/gen/sidestream/v1/models';
import { SidecarServiceService } from '../proto/gen/sidestream/v1/sidecar';
import { streamsServiceWithFrameCodec } from '../proto/codec/frame';
import { bearerAuthInterceptor } from './auth';
import { type ListenAddress, type WhipOptions } from './cli';
import { ModelCache } from './files/cache';
import { modelsService } from './files/modelsService';
import { bindServer, maxMessageBytes, shutdownServer } from './grpcServer';
import { HealthRegistry, ServingStatus } from './health';
import { sidecarService } from './info';
import { FeedRegistry } from './media/feeds';
import { RecordingRegistry, recordingService } from './media/recordingService';
import { StreamRegistry } from './media/registry';
import { PreviewServer } from './media/previewServer';
import { streamsService } from './media/service';
import type { Platform } from './media/types';
import { startWhip, type WhipHandle } from './webrtc/start';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ProbeCache } from './media/probeCache';
import { readHwaccels, type ResolvedTool, type ToolSettings, resolveTools } from './tools';

export const capabilities = ['health', 'info', 'streams', 'audio', 'recording', 'webrtc', 'models'];

export const platform: Platform = process.platform === 'darwin' || process.platform === 'win32' ? process.platform : 'linux';

export interface SidecarServer {
  address: string;
  health: HealthRegistry;
  /** The open streams. */
  streams: StreamRegistry;
  /** Media the sidecar receives itself (WHIP publishers), decoded as `whip:<name>` streams. */
  feeds: FeedRegistry;
  /** The WHIP endpoint, when WebRTC ingest is on. */
  whip: WhipHandle | undefined;
  /** Stops taking calls; calls in flight get `graceMs` before they are cut. */
  shutdown(graceMs: number): Promise<void>;
}

export interface SidecarServerOptions {
  listen: ListenAddress;
  /** The WHIP endpoint's options; undefined: no WebRTC ingest. */
  whip?: WhipOptions | undefined;
  token: string;
  tools: ToolSettings;
  env: NodeJS.ProcessEnv;
  /** The model cache's folder; undefined: SIDESTREAM_CACHE_DIR, else the user's cache folder. */
  cacheDir?: string | undefined;
  /** The model cache's size limit in bytes; 0 or undefined for none. */
  cacheLimit?: number | undefined;
}

/** The model cache's folder: the flag, SIDESTREAM_CACHE_DIR, else $XDG_CACHE_HOME (or ~/.cache)/sidestream/models. */
export function modelCacheFolder(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag || env.SIDESTREAM_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sidestream', 'models');
}

export async function startSidecarServer(options: SidecarServerOptions): Promise<SidecarServer> {
  const server = new Server({
    interceptors: [bearerAuthInterceptor(options.token)],
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
  });
  const health = new HealthRegistry();
  let address = '';
  // Resolved once in the background; calls that need them wait for it.
  const tools: Promise<{ ffmpeg: ResolvedTool; ffprobe: ResolvedTool }> = resolveTools(options.tools, options.env);
  let resolved: { ffmpeg: ResolvedTool; ffprobe: ResolvedTool } | undefined;
  void tools.then((value) => (resolved = value));
  const hwaccels = tools.then(({ ffmpeg }) => (ffmpeg.path && !ffmpeg.error ? readHwaccels(ffmpeg.path) : []));
  const mediaTools = {
    ffmpeg: () => (resolved?.ffmpeg.error ? '' : (resolved?.ffmpeg.path ?? '')),
    ffprobe: () => (resolved?.ffprobe.error ? '' : (resolved?.ffprobe.path ?? '')),
    platform,
    ready: tools,
    feeds: new FeedRegistry(),
    probes: new ProbeCache(),
  };
  const streams = new StreamRegistry(mediaTools);
  const whip = options.whip ? await startWhip(options.whip, options.token, mediaTools.feeds) : undefined;
  const previews = new PreviewServer(streams, options.token);
  await previews.start();

  server.addService(HealthService, health.implementation);
  server.addService(
    SidecarServiceService,
    sidecarService({ address: () => address, tools: () => tools, hwaccels: () => hwaccels, capabilities: () => (whip ? capabilities : capabilities.filter((c) => c !== 'webrtc')), whip: () => whip, previews, feeds: mediaTools.feeds }),
  );
  server.addService(streamsServiceWithFrameCodec, streamsService(streams, mediaTools));
  const recordings = new RecordingRegistry();
  server.addService(RecordingServiceService, recordingService(streams, recordings, mediaTools));
  const cache = new ModelCache(modelCacheFolder(options.cacheDir, options.env), options.cacheLimit ?? 0);
  await cache.init().catch((error: Error) => {
    throw new Error(`cannot use the model cache folder ${cache.folder}: ${error.message}`);
  });
  const models = modelsService(cache);
  server.addService(ModelsServiceService, models.implementation);

  address = await bindServer(server, options.listen);
  health.set('', ServingStatus.SERVING);
  health.set('sidestream.v1.SidecarService', ServingStatus.SERVING);
  health.set('sidestream.v1.StreamsService', ServingStatus.SERVING);
  health.set('sidestream.v1.RecordingService', ServingStatus.SERVING);
  health.set('sidestream.v1.ModelsService', ServingStatus.SERVING);

  return {
    address,
    health,
    streams,
    feeds: mediaTools.feeds,
    whip,
    shutdown: (graceMs) => {
      health.shutDown();
      void whip?.close();
      void previews.close();
      models.close();
      // Recordings finish their files; subscribers' calls end with the streams; their ffmpeg processes exit.
      void recordings.stopAll().then(() => streams.closeAll());
      return shutdownServer(server, graceMs);
    },
  };
}

