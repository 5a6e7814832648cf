import type { ClientReadableStream } from '@grpc/grpc-js';
import { StreamsClient } from '../proto/codec/frame';
import {
  type Recording,
  RecordingServiceClient,
  type StartRecordingRequest,
} from '../proto/gen/sidestream/v1/recording';
import type {
  ListDevicesResponse,
  OpenStreamRequest,
  StreamEvent,
  StreamInfo,
  StreamList,
} from '../proto/gen/sidestream/v1/streams';
import { type SidecarClient, unaryCall } from './client';

/** Promise-based calls of the sidecar's Streams and Recording services, for the extension's views and panel. */
export class MediaClient {
  private readonly streams: InstanceType<typeof StreamsClient>;
  private readonly recordings: RecordingServiceClient;

  constructor(private readonly client: SidecarClient) {
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

  /** The sidecar's loopback preview endpoint (what the stream panel's webview reads frames from) and its token. */
  async previewEndpoint(): Promise<{ url: string; token: string }> {
    const info = await this.client.getInfo();
    if (!info.previewUrl) throw new Error('this sidecar has no preview endpoint; update the Sidestream sidecar');
    return { url: info.previewUrl, token: info.previewToken };
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
