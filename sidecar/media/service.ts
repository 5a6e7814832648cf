import { type sendUnaryData, type ServerWritableStream, status } from '@grpc/grpc-js';
import {
  BufferPolicy,
  type Frame,
  FrameFormat,
  type StreamEvent,
  type StreamInfo,
  StreamState,
  type StreamsServiceServer,
  type SubscribeRequest,
  type WatchStreamRequest,
  type WatchStreamsRequest,
  type StreamList,
} from '../../proto/gen/sidestream/v1/streams';
import { log } from '../log';
import { listDevices } from './devices';
import { probeSource } from './probe';
import type { Delivery, QueueOptions } from './queue';
import type { StreamRegistry } from './registry';
import type { MediaStream, StreamSnapshot } from './stream';
import { type BufferPolicyName, type FrameFormatName, MediaError, type Platform, type StreamStateName } from './types';
import { parseSourceUri } from './uri';

const grpcCode: Record<MediaError['code'], status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
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

export const subscribeDefaults = { queueFrames: 8, queueBytes: 64 * 1024 * 1024, targetLatencyMs: 200, jpegQuality: 5 };
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

function queueOptions(request: SubscribeRequest, stream: MediaStream): QueueOptions {
  const policy = request.policy === BufferPolicy.BUFFER_POLICY_UNSPECIFIED ? (stream.live ? 'adaptive' : 'wait') : policyFromProto.get(request.policy);
  if (!policy) throw new MediaError('invalid-argument', `unknown buffer policy ${request.policy}`);
  if (request.maxFps < 0) throw new MediaError('invalid-argument', `max_fps must be ≥ 0; got ${request.maxFps}`);
  return {
    policy,
    maxFrames: request.queueFrames || subscribeDefaults.queueFrames,
    maxBytes: request.queueBytes || subscribeDefaults.queueBytes,
    targetLatencyMs: request.targetLatencyMs || subscribeDefaults.targetLatencyMs,
    maxFps: request.maxFps,
  };
}

function unaryAfter<T>(ready: Promise<unknown>, callback: sendUnaryData<T>, work: () => Promise<T> | T): void {
  ready
    .then(work)
    .then(
      (value) => callback(null, value),
      (error: unknown) => callback(toServiceError(error)),
    );
}

export function streamsService(
  registry: StreamRegistry,
  tools: { ffmpeg(): string; ffprobe(): string; platform: Platform; ready: Promise<unknown> },
): StreamsServiceServer {
  const unary = <T>(callback: sendUnaryData<T>, work: () => Promise<T> | T) => unaryAfter(tools.ready, callback, work);
  return {
    listDevices: (_call, callback) => unary(callback, () => listDevices(tools.platform, { ffmpeg: tools.ffmpeg(), env: process.env })),
    probe: (call, callback) =>
      unary(callback, async () => {
        const spec = parseSourceUri(call.request.uri, tools.platform);
        return probeSource(tools.ffprobe(), spec, { platform: tools.platform, timeoutMs: call.request.timeoutMs || 10_000 });
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
    subscribe: (call) => subscribe(registry, call),
    // Arrives with the audio work (issue 6); until then the caller learns so plainly.
    subscribeAudio: (call) => call.emit('error', { code: status.UNIMPLEMENTED, details: 'SubscribeAudio is not implemented in this sidecar version yet' }),
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

function subscribe(registry: StreamRegistry, call: ServerWritableStream<SubscribeRequest, Frame>): void {
  const request = call.request;
  let stream: MediaStream;
  let subscriber: ReturnType<MediaStream['subscribe']>;
  try {
    stream = registry.get(request.streamId);
    const format = formatFromProto.get(request.format);
    if (!format) throw new MediaError('invalid-argument', `unknown frame format ${request.format}`);
    const jpegQuality = request.jpegQuality || subscribeDefaults.jpegQuality;
    if (jpegQuality < 2 || jpegQuality > 31) throw new MediaError('invalid-argument', `jpeg_quality must be 2–31; got ${jpegQuality}`);
    subscriber = stream.subscribe({ format, width: request.width, height: request.height, jpegQuality }, queueOptions(request, stream));
  } catch (error) {
    call.emit('error', toServiceError(error));
    return;
  }

  let inFlight = 0;
  let done = false;
  const pump = () => {
    while (!done && inFlight < maxFramesInFlight) {
      const delivery = subscriber.next();
      if (!delivery) break;
      inFlight++;
      call.write(toFrame(delivery), () => {
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
    stream.unsubscribe(subscriber);
    if (error) call.emit('error', toServiceError(error));
    else call.end();
  };
  const cancel = () => {
    if (done) return;
    done = true;
    stream.unsubscribe(subscriber);
  };
  call.once('cancelled', cancel);
  call.once('close', cancel);
}
