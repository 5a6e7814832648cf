import { type sendUnaryData, type ServerWritableStream, status } from '@grpc/grpc-js';
import {
  type AudioFrame,
  BufferPolicy,
  type Frame,
  FrameFormat,
  type StreamEvent,
  type StreamInfo,
  StreamState,
  type StreamsServiceServer,
  SampleFormat,
  type SubscribeAudioRequest,
  type SubscribeRequest,
  type WatchStreamRequest,
  type WatchStreamsRequest,
  type StreamList,
} from '../../proto/gen/sidestream/v1/streams';
import { log } from '../log';
import { listDevices } from './devices';
import type { FeedRegistry } from './feeds';
import { probeSource } from './probe';
import type { ProbeCache } from './probeCache';
import type { Delivery, QueueOptions } from './queue';
import type { Subscriber } from './subscriber';
import type { StreamRegistry } from './registry';
import type { MediaStream, StreamSnapshot } from './stream';
import { type BufferPolicyName, type DecodedAudio, type FrameFormatName, MediaError, type Platform, type QueuedMedia, type SampleFormatName, type StreamStateName } from './types';
import { parseSourceUri } from './uri';

const grpcCode: Record<MediaError['code'], status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'already-exists': status.ALREADY_EXISTS,
  unavailable: status.UNAVAILABLE,
  'failed-precondition': status.FAILED_PRECONDITION,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  internal: status.INTERNAL,
};

export function toServiceError(error: unknown): { code: status; details: string } {
  if (error instanceof MediaError) return { code: grpcCode[error.code], details: error.message };
  log.error(`streams: ${(error as Error).stack ?? String(error)}`);
  return { code: status.INTERNAL, details: (error as Error).message ?? String(error) };
}

const stateToProto: Record<StreamStateName, StreamState> = {
  idle: StreamState.STREAM_STATE_IDLE,
  starting: StreamState.STREAM_STATE_STARTING,
  live: StreamState.STREAM_STATE_LIVE,
  stalled: StreamState.STREAM_STATE_STALLED,
  reconnecting: StreamState.STREAM_STATE_RECONNECTING,
  ended: StreamState.STREAM_STATE_ENDED,
  failed: StreamState.STREAM_STATE_FAILED,
};

const formatFromProto = new Map<FrameFormat, FrameFormatName>([
  [FrameFormat.FRAME_FORMAT_UNSPECIFIED, 'jpeg'],
  [FrameFormat.FRAME_FORMAT_JPEG, 'jpeg'],
  [FrameFormat.FRAME_FORMAT_RGB24, 'rgb24'],
  [FrameFormat.FRAME_FORMAT_RGBA, 'rgba'],
  [FrameFormat.FRAME_FORMAT_I420, 'i420'],
  [FrameFormat.FRAME_FORMAT_GRAY, 'gray'],
]);
const formatToProto = new Map([...formatFromProto].filter(([key]) => key !== FrameFormat.FRAME_FORMAT_UNSPECIFIED).map(([k, v]) => [v, k]));

const policyFromProto = new Map<BufferPolicy, BufferPolicyName>([
  [BufferPolicy.BUFFER_POLICY_WAIT, 'wait'],
  [BufferPolicy.BUFFER_POLICY_DROP_OLDEST, 'drop_oldest'],
  [BufferPolicy.BUFFER_POLICY_DROP_NEWEST, 'drop_newest'],
  [BufferPolicy.BUFFER_POLICY_LATEST_ONLY, 'latest_only'],
  [BufferPolicy.BUFFER_POLICY_ADAPTIVE, 'adaptive'],
]);

const sampleFormatFromProto = new Map<SampleFormat, SampleFormatName>([
  [SampleFormat.SAMPLE_FORMAT_UNSPECIFIED, 's16le'],
  [SampleFormat.SAMPLE_FORMAT_S16LE, 's16le'],
  [SampleFormat.SAMPLE_FORMAT_F32LE, 'f32le'],
]);
const sampleFormatToProto: Record<SampleFormatName, SampleFormat> = { s16le: SampleFormat.SAMPLE_FORMAT_S16LE, f32le: SampleFormat.SAMPLE_FORMAT_F32LE };

export const subscribeDefaults = { queueFrames: 8, queueBytes: 64 * 1024 * 1024, targetLatencyMs: 200, jpegQuality: 5 };
export const subscribeAudioDefaults = { queueFrames: 50, frameMs: 20 };
/** Frames handed to gRPC but not yet flushed, per subscriber: keeps memory bounded whatever the client does. */
const maxFramesInFlight = 2;

export function toStreamInfo(snapshot: StreamSnapshot): StreamInfo {
  return {
    id: snapshot.id,
    name: snapshot.name,
    uri: snapshot.uri,
    state: stateToProto[snapshot.state],
    reason: snapshot.reason,
    source: snapshot.source,
    decoder: snapshot.decoder,
    subscribers: snapshot.subscribers,
    openedAtUs: snapshot.openedAtUs,
  };
}

function toFrame({ frame, droppedBefore }: Delivery): Frame {
  return {
    sequence: frame.sequence,
    ptsUs: frame.ptsUs,
    decodedAtUs: frame.decodedAtUs,
    capturedAtUs: frame.capturedAtUs,
    width: frame.width,
    height: frame.height,
    format: formatToProto.get(frame.format)!,
    data: frame.data,
    droppedBefore,
  };
}

function toAudioFrame({ frame, droppedBefore }: Delivery<DecodedAudio>): AudioFrame {
  return {
    sequence: frame.sequence,
    ptsUs: frame.ptsUs,
    decodedAtUs: frame.decodedAtUs,
    capturedAtUs: frame.capturedAtUs,
    sampleRate: frame.sampleRate,
    channels: frame.channels,
    sampleFormat: sampleFormatToProto[frame.sampleFormat],
    samples: frame.samples,
    data: frame.data,
    droppedBefore,
  };
}

function bufferPolicy(policy: BufferPolicy, stream: MediaStream): BufferPolicyName {
  const name = policy === BufferPolicy.BUFFER_POLICY_UNSPECIFIED ? (stream.live ? 'adaptive' : 'wait') : policyFromProto.get(policy);
  if (!name) throw new MediaError('invalid-argument', `unknown buffer policy ${policy}`);
  return name;
}

/** A video subscriber's queue: `policy` and `maxFps`, the bounds and latency target asked for or the defaults. */
export function videoQueue(policy: BufferPolicyName, maxFps: number, asked: { queueFrames?: number; queueBytes?: number; targetLatencyMs?: number } = {}): QueueOptions {
  return {
    policy,
    maxFrames: asked.queueFrames || subscribeDefaults.queueFrames,
    maxBytes: asked.queueBytes || subscribeDefaults.queueBytes,
    targetLatencyMs: asked.targetLatencyMs || subscribeDefaults.targetLatencyMs,
    maxFps,
  };
}

function queueOptions(request: SubscribeRequest, stream: MediaStream): QueueOptions {
  if (request.maxFps < 0) throw new MediaError('invalid-argument', `max_fps must be ≥ 0; got ${request.maxFps}`);
  return videoQueue(bufferPolicy(request.policy, stream), request.maxFps, request);
}

/** Checks a SubscribeAudio request; every bad field is named with what it accepts. */
function audioSubscription(request: SubscribeAudioRequest, stream: MediaStream) {
  const sampleFormat = sampleFormatFromProto.get(request.sampleFormat);
  if (!sampleFormat) throw new MediaError('invalid-argument', `unknown sample format ${request.sampleFormat}; use S16LE or F32LE`);
  if (request.sampleRate !== 0 && (request.sampleRate < 8000 || request.sampleRate > 192_000)) {
    throw new MediaError('invalid-argument', `sample_rate must be 0 (the source's) or 8000–192000 Hz; got ${request.sampleRate}`);
  }
  if (request.channels > 2) throw new MediaError('invalid-argument', `channels must be 0 (the source's), 1 or 2; got ${request.channels}`);
  const frameMs = request.frameMs || subscribeAudioDefaults.frameMs;
  if (frameMs < 10 || frameMs > 100) throw new MediaError('invalid-argument', `frame_ms must be 10–100; got ${request.frameMs}`);
  const queue: QueueOptions = {
    policy: bufferPolicy(request.policy, stream),
    maxFrames: request.queueFrames || subscribeAudioDefaults.queueFrames,
    maxBytes: subscribeDefaults.queueBytes,
    // Audio keeps more in hand than video: a gap is heard, a dropped frame is not seen.
    targetLatencyMs: Math.max(subscribeDefaults.targetLatencyMs, frameMs * 4),
    maxFps: 0,
  };
  return { output: { sampleFormat, sampleRate: request.sampleRate, channels: request.channels, frameMs }, queue };
}

/** Answers a unary call with `work`'s result once `ready` settles; errors become gRPC statuses. */
export function unaryAfter<T>(ready: Promise<unknown>, callback: sendUnaryData<T>, work: () => Promise<T> | T): void {
  ready
    .then(work)
    .then(
      (value) => callback(null, value),
      (error: unknown) => callback(toServiceError(error)),
    );
}

export function streamsService(
  registry: StreamRegistry,
  tools: { ffmpeg(): string; ffprobe(): string; platform: Platform; ready: Promise<unknown>; feeds?: FeedRegistry; probes?: ProbeCache },
): StreamsServiceServer {
  const unary = <T>(callback: sendUnaryData<T>, work: () => Promise<T> | T) => unaryAfter(tools.ready, callback, work);
  return {
    listDevices: (_call, callback) => unary(callback, () => listDevices(tools.platform, { ffmpeg: tools.ffmpeg(), env: process.env })),
    probe: (call, callback) =>
      unary(callback, async () => {
        const spec = parseSourceUri(call.request.uri, tools.platform);
        if (spec.kind === 'feed') {
          // A feed describes itself (a WHIP publisher once its first keyframe is in).
          const feed = tools.feeds?.get(spec.name);
          if (!feed) throw new MediaError('not-found', `no ${spec.scheme} publisher named "${spec.name}" is connected`);
          return feed.describe();
        }
        return probeSource(tools.ffprobe(), spec, { platform: tools.platform, timeoutMs: call.request.timeoutMs || 10_000, cache: tools.probes });
      }),
    openStream: (call, callback) => unary(callback, async () => ({ stream: toStreamInfo((await registry.open(call.request)).snapshot()) })),
    listStreams: (_call, callback) => unary(callback, () => ({ streams: registry.list().map((s) => toStreamInfo(s.snapshot())) })),
    closeStream: (call, callback) =>
      unary(callback, async () => {
        await registry.close(call.request.id);
        return {};
      }),
    watchStream: (call) => watch(registry, call),
    watchStreams: (call) => watchAll(registry, call),
    subscribe: (call) => void subscribe(registry, call),
    subscribeAudio: (call) => void subscribeAudio(registry, call),
  };
}

function watchAll(registry: StreamRegistry, call: ServerWritableStream<WatchStreamsRequest, StreamList>): void {
  const minIntervalMs = Math.max(10, call.request.minIntervalMs || 100);
  let timer: NodeJS.Timeout | undefined;
  let lastSentAt = 0;
  const send = () => {
    timer = undefined;
    lastSentAt = Date.now();
    if (!call.cancelled && !call.writableEnded) call.write({ streams: registry.list().map((s) => toStreamInfo(s.snapshot())) });
  };
  const onChanged = () => {
    if (timer) return;
    timer = setTimeout(send, Math.max(0, lastSentAt + minIntervalMs - Date.now()));
  };
  const cleanup = () => {
    if (timer) clearTimeout(timer);
    registry.off('changed', onChanged);
  };
  registry.on('changed', onChanged);
  call.once('cancelled', cleanup);
  call.once('close', cleanup);
  send();
}

function watch(registry: StreamRegistry, call: ServerWritableStream<WatchStreamRequest, StreamEvent>): void {
  let stream: MediaStream;
  try {
    stream = registry.get(call.request.id);
  } catch (error) {
    call.emit('error', toServiceError(error));
    return;
  }
  const send = (event: StreamEvent) => {
    if (!call.cancelled && !call.writableEnded) call.write(event);
  };
  const onState = (snapshot: StreamSnapshot) => send({ timeUs: Date.now() * 1000, stream: toStreamInfo(snapshot) });
  const onClosed = () => {
    cleanup();
    call.end();
  };
  const intervalMs = Math.max(100, call.request.intervalMs || 1000);
  const timer = setInterval(
    () => send({ timeUs: Date.now() * 1000, stream: toStreamInfo(stream.snapshot()), analytics: stream.figures() }),
    intervalMs,
  );
  const cleanup = () => {
    clearInterval(timer);
    stream.off('state', onState);
    stream.off('closed', onClosed);
  };
  stream.on('state', onState);
  stream.once('closed', onClosed);
  call.once('cancelled', cleanup);
  call.once('close', cleanup);
  onState(stream.snapshot());
}

/**
 * The stream, once it is known whether it is live when the request leaves the buffering
 * policy to the source (wait for a file or an HLS VOD, adaptive for live sources).
 */
async function streamFor(registry: StreamRegistry, streamId: string, policy: BufferPolicy): Promise<MediaStream> {
  const stream = registry.get(streamId);
  if (policy === BufferPolicy.BUFFER_POLICY_UNSPECIFIED && !stream.liveKnown) await stream.resolveLive();
  return stream;
}

async function subscribe(registry: StreamRegistry, call: ServerWritableStream<SubscribeRequest, Frame>): Promise<void> {
  const request = call.request;
  try {
    const stream = await streamFor(registry, request.streamId, request.policy);
    if (call.cancelled) return;
    const format = formatFromProto.get(request.format);
    if (!format) throw new MediaError('invalid-argument', `unknown frame format ${request.format}`);
    const jpegQuality = request.jpegQuality || subscribeDefaults.jpegQuality;
    if (jpegQuality < 2 || jpegQuality > 31) throw new MediaError('invalid-argument', `jpeg_quality must be 2–31; got ${jpegQuality}`);
    const subscriber = stream.subscribe({ format, width: request.width, height: request.height, jpegQuality }, queueOptions(request, stream));
    deliver(callSink(call), stream, subscriber, toFrame, () => stream.unsubscribe(subscriber));
  } catch (error) {
    call.emit('error', toServiceError(error));
  }
}

async function subscribeAudio(registry: StreamRegistry, call: ServerWritableStream<SubscribeAudioRequest, AudioFrame>): Promise<void> {
  try {
    const stream = await streamFor(registry, call.request.streamId, call.request.policy);
    if (call.cancelled) return;
    const { output, queue } = audioSubscription(call.request, stream);
    const subscriber = stream.subscribeAudio(output, queue);
    deliver(callSink(call), stream, subscriber, toAudioFrame, () => stream.unsubscribe(subscriber));
  } catch (error) {
    call.emit('error', toServiceError(error));
  }
}

/** Where a subscriber's frames go: a gRPC call, or a preview HTTP response. */
export interface FrameSink<M> {
  /** Hands one message to the transport; `flushed` runs once it left our buffers. */
  write(message: M, flushed: () => void): void;
  end(): void;
  fail(error: unknown): void;
  /** Runs `cancel` when the other side goes away. */
  onClose(cancel: () => void): void;
}

export const callSink = <M>(call: ServerWritableStream<unknown, M>): FrameSink<M> => ({
  write: (message, flushed) => void call.write(message, flushed),
  end: () => call.end(),
  fail: (error) => call.emit('error', toServiceError(error)),
  onClose: (cancel) => {
    call.once('cancelled', cancel);
    call.once('close', cancel);
  },
});

/** Writes a subscriber's frames to its sink, at most `maxFramesInFlight` unflushed, until either side ends. */
export function deliver<T extends QueuedMedia, M>(
  sink: FrameSink<M>,
  stream: MediaStream,
  subscriber: Subscriber<T, unknown, unknown>,
  encode: (delivery: Delivery<T>) => M,
  unsubscribe: () => void,
): void {
  let inFlight = 0;
  let done = false;
  const pump = () => {
    while (!done && inFlight < maxFramesInFlight) {
      const delivery = subscriber.next();
      if (!delivery) break;
      inFlight++;
      sink.write(encode(delivery), () => {
        // Written (grpc-js copied the message into its frame; an HTTP response flushed it).
        delivery.frame.release?.();
        inFlight--;
        pump();
      });
    }
    stream.updateBackPressure();
  };
  subscriber.onReadable = pump;
  subscriber.onEnd = (error) => {
    if (done) return;
    done = true;
    unsubscribe();
    if (error) sink.fail(error);
    else sink.end();
  };
  sink.onClose(() => {
    if (done) return;
    done = true;
    unsubscribe();
  });
}
