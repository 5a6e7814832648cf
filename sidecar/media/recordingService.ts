import type { sendUnaryData } from '@grpc/grpc-js';
import { isAbsolute, join } from 'node:path';
import {
  Container,
  EncodeQuality,
  type Recording as RecordingMessage,
  RecordingMode,
  type RecordingServiceServer,
  RecordingState,
  type StartRecordingRequest,
} from '../../proto/gen/sidestream/v1/recording';
import { log } from '../log';
import { Recording, type RecordingSnapshot, type RecordingSource, checkTarget } from './recorder';
import { minimumSegmentBytes } from './nutSegmenter';
import { type ContainerName, containerExtension, containerFromPath, planRecording, type QualityName, recordingBaseName, type RecordingModeName } from './recordingArgs';
import type { StreamRegistry } from './registry';
import { unaryAfter } from './service';
import type { MediaStream } from './stream';
import { MediaError, type SourceSpec } from './types';

const containerFromProto = new Map<Container, ContainerName>([
  [Container.CONTAINER_MP4, 'mp4'],
  [Container.CONTAINER_MKV, 'mkv'],
  [Container.CONTAINER_WEBM, 'webm'],
]);
const modeFromProto = new Map<RecordingMode, RecordingModeName>([
  [RecordingMode.RECORDING_MODE_COPY, 'copy'],
  [RecordingMode.RECORDING_MODE_ENCODE, 'encode'],
]);
const qualityFromProto = new Map<EncodeQuality, QualityName>([
  [EncodeQuality.ENCODE_QUALITY_UNSPECIFIED, 'balanced'],
  [EncodeQuality.ENCODE_QUALITY_FAST, 'fast'],
  [EncodeQuality.ENCODE_QUALITY_BALANCED, 'balanced'],
  [EncodeQuality.ENCODE_QUALITY_SMALL, 'small'],
]);
const stateToProto = { recording: RecordingState.RECORDING_STATE_RECORDING, stopped: RecordingState.RECORDING_STATE_STOPPED, failed: RecordingState.RECORDING_STATE_FAILED };

const metadataKeyPattern = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

function toMessage(snapshot: RecordingSnapshot): RecordingMessage {
  return { ...snapshot, state: stateToProto[snapshot.state] };
}

function deviceOf(spec: SourceSpec): string {
  if (spec.kind === 'camera' || spec.kind === 'mic') return spec.device;
  if (spec.kind === 'screen') return spec.display;
  return '';
}

/** The recordings of one sidecar, running and finished. */
export class RecordingRegistry {
  private readonly recordings = new Map<string, Recording>();
  private counter = 0;

  add(recording: Recording): void {
    this.recordings.set(recording.id, recording);
  }

  newId(): string {
    return `rec-${++this.counter}`;
  }

  get(id: string): Recording {
    const recording = this.recordings.get(id);
    if (!recording) throw new MediaError('not-found', `no recording "${id}" (ListRecordings shows them)`);
    return recording;
  }

  /** Newest first. */
  list(streamId = ''): Recording[] {
    return [...this.recordings.values()].filter((r) => !streamId || r.source.streamId === streamId).reverse();
  }

  stopAll(): Promise<void> {
    return Promise.all([...this.recordings.values()].map((r) => r.stop('the sidecar is shutting down'))).then(() => undefined);
  }
}

/** Checks a StartRecording request and decides the files, container and mode; every bad field is named. */
async function prepareRecording(request: StartRecordingRequest, stream: MediaStream, registry: RecordingRegistry, tools: { ffmpeg(): string; ffprobe(): string }): Promise<Recording> {
  if (!request.folder === !request.path) throw new MediaError('invalid-argument', 'give exactly one of folder (record into it, named after the stream) and path (this exact file)');
  const given = request.folder || request.path;
  if (!isAbsolute(given) || given.includes('\0')) throw new MediaError('invalid-argument', `${request.folder ? 'folder' : 'path'} must be an absolute path; got "${given}"`);
  const fromPath = request.path ? containerFromPath(request.path) : undefined;
  const asked = request.container === Container.CONTAINER_UNSPECIFIED ? undefined : containerFromProto.get(request.container);
  if (request.container !== Container.CONTAINER_UNSPECIFIED && !asked) throw new MediaError('invalid-argument', `unknown container ${request.container}; use MP4, MKV or WEBM`);
  if (request.path && !fromPath) throw new MediaError('invalid-argument', `path must end in .mp4, .mkv or .webm; got "${request.path}"`);
  if (asked && fromPath && asked !== fromPath) throw new MediaError('invalid-argument', `container ${asked} does not match the path's extension .${fromPath}`);
  const container = asked ?? fromPath ?? 'mp4';
  const mode = request.mode === RecordingMode.RECORDING_MODE_UNSPECIFIED ? undefined : modeFromProto.get(request.mode);
  if (request.mode !== RecordingMode.RECORDING_MODE_UNSPECIFIED && !mode) throw new MediaError('invalid-argument', `unknown recording mode ${request.mode}; use COPY or ENCODE`);
  const quality = qualityFromProto.get(request.quality);
  if (!quality) throw new MediaError('invalid-argument', `unknown encode quality ${request.quality}; use FAST, BALANCED or SMALL`);
  if (request.segmentBytes > 0 && request.segmentBytes < minimumSegmentBytes) {
    throw new MediaError('invalid-argument', `segment_bytes must be at least ${minimumSegmentBytes} (64 KiB); got ${request.segmentBytes}`);
  }
  if ((request.keepSegments || request.keepHours) && !request.segmentSeconds && !request.segmentBytes) {
    throw new MediaError('invalid-argument', 'keep_segments and keep_hours apply to segments: set segment_seconds or segment_bytes too');
  }
  for (const key of Object.keys(request.metadata)) {
    if (!metadataKeyPattern.test(key)) throw new MediaError('invalid-argument', `metadata key "${key}" must be a letter then up to 63 letters, digits, "_", "." or "-"`);
  }

  const probe = await stream.sourceDescription();
  const video = probe.streams.find((s) => s.type === 'video');
  const audio = probe.streams.find((s) => s.type === 'audio');
  const plan = planRecording(
    { ...(video ? { video: video.codec } : {}), ...(audio ? { audio: audio.codec } : {}), frameRate: video?.frameRate ?? 0 },
    { container, ...(mode ? { mode } : {}), quality, noAudio: request.noAudio, segmentSeconds: request.segmentSeconds, segmentBytes: request.segmentBytes },
  );
  const extension = containerExtension[container];
  const segmented = request.segmentSeconds > 0 || request.segmentBytes > 0;
  const base = request.folder ? join(request.folder, recordingBaseName(stream.config.name, new Date())) : request.path.replace(/\.[^./\\]+$/, '');
  const target = {
    path: segmented ? base : request.path || `${base}.${extension}`,
    segmentSeconds: request.segmentSeconds,
    segmentBytes: request.segmentBytes,
    frameRate: video?.frameRate ?? 0,
    keepSegments: request.keepSegments,
    keepHours: request.keepHours,
  };
  await checkTarget(target, extension);
  const source: RecordingSource = { streamId: stream.id, streamName: stream.config.name, uri: stream.config.spec.uri, device: deviceOf(stream.config.spec) };
  return new Recording(registry.newId(), source, plan, target, request.title || stream.config.name, request.metadata, tools.ffmpeg, tools.ffprobe);
}

export function recordingService(streams: StreamRegistry, registry: RecordingRegistry, tools: { ffmpeg(): string; ffprobe(): string; ready: Promise<unknown> }): RecordingServiceServer {
  const unary = <T>(callback: sendUnaryData<T>, work: () => Promise<T>) => unaryAfter(tools.ready, callback, work);
  return {
    startRecording: (call, callback) =>
      unary(callback, async () => {
        const stream = streams.get(call.request.streamId);
        if (!tools.ffmpeg()) throw new MediaError('failed-precondition', 'ffmpeg was not found: install it or set sidestream.ffmpegPath');
        const recording = await prepareRecording(call.request, stream, registry, tools);
        stream.startRecording(recording);
        registry.add(recording);
        await recording.writeMetadata();
        log.info(`recording ${recording.id} of stream ${stream.id} into ${recording.target.path} (${recording.plan.container}, ${recording.plan.mode})`);
        return { recording: toMessage(await recording.snapshot()) };
      }),
    stopRecording: (call, callback) =>
      unary(callback, async () => {
        const recording = registry.get(call.request.recordingId);
        await recording.stop();
        return { recording: toMessage(await recording.snapshot()) };
      }),
    listRecordings: (call, callback) =>
      unary(callback, async () => ({ recordings: await Promise.all(registry.list(call.request.streamId).map(async (r) => toMessage(await r.snapshot()))) })),
  };
}
