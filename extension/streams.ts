import type { ClientReadableStream } from '@grpc/grpc-js';
import { StreamsClient } from '../proto/codec/frame';
import {
  type Recording,
  RecordingServiceClient,
  type StartRecordingRequest,
} from '../proto/gen/sidestream/v1/recording';
import type {
  Frame,
  ListDevicesResponse,
  OpenStreamRequest,
  StreamEvent,
  StreamInfo,
  StreamList,
  SubscribeRequest,
} from '../proto/gen/sidestream/v1/streams';
import { type SidecarClient, unaryCall } from './client';

/** Promise-based calls of the sidecar's Streams and Recording services, for the extension's views and panel. */
export class MediaClient {
  private readonly streams: InstanceType<typeof StreamsClient>;
  private readonly recordings: RecordingServiceClient;

  constructor(client: SidecarClient) {
    this.streams = client.service(StreamsClient);
    this.recordings = client.service(RecordingServiceClient);
  }

  open(request: Partial<OpenStreamRequest> & { uri: string }): Promise<StreamInfo> {
    const full: OpenStreamRequest = { id: '', name: '', watchdogMs: 0, idleTimeoutMs: 0, ...request };
    return unaryCall(this.streams, this.streams.openStream, full, 30_000).then((response) => response.stream!);
  }

  close(id: string): Promise<void> {
    return unaryCall(this.streams, this.streams.closeStream, { id }, 15_000).then(() => undefined);
  }

  list(): Promise<StreamInfo[]> {
    return unaryCall(this.streams, this.streams.listStreams, {}, 10_000).then((response) => response.streams);
  }

  listDevices(): Promise<ListDevicesResponse> {
    return unaryCall(this.streams, this.streams.listDevices, {}, 15_000);
  }

  subscribe(request: Partial<SubscribeRequest> & { streamId: string }): ClientReadableStream<Frame> {
    return this.streams.subscribe({ format: 0, width: 0, height: 0, maxFps: 0, policy: 0, queueFrames: 0, queueBytes: 0, targetLatencyMs: 0, jpegQuality: 0, ...request });
  }

  watch(id: string, intervalMs = 1000): ClientReadableStream<StreamEvent> {
    return this.streams.watchStream({ id, intervalMs });
  }

  watchAll(minIntervalMs = 200): ClientReadableStream<StreamList> {
    return this.streams.watchStreams({ minIntervalMs });
  }

  startRecording(request: Partial<StartRecordingRequest> & { streamId: string }): Promise<Recording> {
    const full: StartRecordingRequest = {
      folder: '', path: '', container: 0, mode: 0, quality: 0, title: '', metadata: {},
      segmentSeconds: 0, segmentBytes: 0, keepSegments: 0, keepHours: 0, noAudio: false, ...request,
    };
    return unaryCall(this.recordings, this.recordings.startRecording, full, 30_000).then((response) => response.recording!);
  }

  stopRecording(recordingId: string): Promise<Recording> {
    return unaryCall(this.recordings, this.recordings.stopRecording, { recordingId }, 60_000).then((response) => response.recording!);
  }

  listRecordings(streamId = ''): Promise<Recording[]> {
    return unaryCall(this.recordings, this.recordings.listRecordings, { streamId }, 10_000).then((response) => response.recordings);
  }
}
