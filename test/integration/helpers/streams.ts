// A promise-based client of the sidecar's Streams service for tests and benchmarks,
// over real gRPC with the bearer token, and the channel options the extension uses.
import { type ClientReadableStream, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  type AudioFrame,
  type Frame,
  type ListDevicesResponse,
  type OpenStreamRequest,
  type ProbeResponse,
  type StreamEvent,
  type StreamInfo,
  type StreamsServiceClient,
  type SubscribeAudioRequest,
  type SubscribeRequest,
} from '../../../proto/gen/sidestream/v1/streams';
import { after, before } from 'node:test';
import { bearerTokenInterceptor, channelOptions } from '../../../extension/client';
import { newToken, type RunningSidecar, type StartOptions, startSidecar } from './sidecar';
import { StreamsClient } from '../../../proto/codec/frame';

export * from '../../../proto/gen/sidestream/v1/streams';

export type GrpcError = ServiceError;

export interface FrameCollection {
  frames: Frame[];
  /** Resolves when `count` frames arrived (the call is then cancelled), or when the call ends. */
  done: Promise<{ frames: Frame[]; error?: GrpcError; ended: boolean }>;
  call: ClientReadableStream<Frame>;
  cancel(): void;
  /** Frames received so far, kept or not. */
  received(): number;
}

export interface AudioCollection {
  frames: AudioFrame[];
  done: Promise<{ frames: AudioFrame[]; error?: GrpcError; ended: boolean }>;
  call: ClientReadableStream<AudioFrame>;
}

export class StreamsTestClient {
  readonly client: StreamsServiceClient;

  constructor(address: string, token: string | undefined) {
    this.client = new StreamsClient(address, credentials.createInsecure(), {
      ...channelOptions,
      ...(token ? { interceptors: [bearerTokenInterceptor(token)] } : {}),
    });
  }

  private unary<Req, Res>(method: (req: Req, md: Metadata, opts: { deadline: number }, cb: (e: ServiceError | null, r: Res) => void) => unknown, request: Req, timeoutMs = 20_000): Promise<Res> {
    return new Promise((resolve, reject) =>
      method.call(this.client, request, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response))),
    );
  }

  open(request: Partial<OpenStreamRequest> & { uri: string }): Promise<StreamInfo> {
    return this.unary(this.client.openStream, { id: '', name: '', watchdogMs: 0, idleTimeoutMs: 0, ...request }).then((r) => r.stream!);
  }

  probe(uri: string, timeoutMs = 0): Promise<ProbeResponse> {
    return this.unary(this.client.probe, { uri, timeoutMs });
  }

  list(): Promise<StreamInfo[]> {
    return this.unary(this.client.listStreams, {}).then((r) => r.streams);
  }

  listDevices(): Promise<ListDevicesResponse> {
    return this.unary(this.client.listDevices, {});
  }

  close(id: string): Promise<void> {
    return this.unary(this.client.closeStream, { id }).then(() => undefined);
  }

  /**
   * Subscribes and collects frames until `count` arrived (then cancels) or the call ends.
   * `onFrame` sees each frame as it arrives (return true to stop early). With
   * `keepFrames: false` only the count is kept (`frames` stays empty): for benchmarks.
   */
  collect(
    request: Partial<SubscribeRequest> & { streamId: string },
    count: number,
    onFrame?: (frame: Frame) => boolean | void,
    options: { keepFrames?: boolean } = {},
  ): FrameCollection {
    const keepFrames = options.keepFrames ?? true;
    let received = 0;
    const call = this.client.subscribe({
      format: 0,
      width: 0,
      height: 0,
      maxFps: 0,
      policy: 0,
      queueFrames: 0,
      queueBytes: 0,
      targetLatencyMs: 0,
      jpegQuality: 0,
      ...request,
    });
    const frames: Frame[] = [];
    let settle!: (value: { frames: Frame[]; error?: GrpcError; ended: boolean }) => void;
    const done = new Promise<{ frames: Frame[]; error?: GrpcError; ended: boolean }>((resolve) => (settle = resolve));
    let finished = false;
    const finish = (value: { frames: Frame[]; error?: GrpcError; ended: boolean }) => {
      if (finished) return;
      finished = true;
      settle(value);
    };
    call.on('data', (frame: Frame) => {
      if (finished) return;
      received++;
      if (keepFrames) frames.push(frame);
      const stop = onFrame?.(frame) === true;
      if (received >= count || stop) {
        finish({ frames, ended: false });
        call.cancel();
      }
    });
    call.on('error', (error: ServiceError) => {
      if (error.code === 1 /* CANCELLED */ && finished) return;
      finish({ frames, error, ended: false });
    });
    call.on('end', () => finish({ frames, ended: true }));
    return { frames, done, call, cancel: () => call.cancel(), received: () => received };
  }

  /** Subscribes to audio and collects frames until `count` arrived (then cancels) or the call ends. */
  collectAudio(request: Partial<SubscribeAudioRequest> & { streamId: string }, count: number, onFrame?: (frame: AudioFrame) => boolean | void): AudioCollection {
    const call = this.client.subscribeAudio({ sampleFormat: 0, sampleRate: 0, channels: 0, frameMs: 0, policy: 0, queueFrames: 0, ...request });
    const frames: AudioFrame[] = [];
    const done = new Promise<{ frames: AudioFrame[]; error?: GrpcError; ended: boolean }>((resolve) => {
      let finished = false;
      const finish = (value: { frames: AudioFrame[]; error?: GrpcError; ended: boolean }) => {
        if (finished) return;
        finished = true;
        resolve(value);
      };
      call.on('data', (frame: AudioFrame) => {
        if (finished) return;
        frames.push(frame);
        if (frames.length >= count || onFrame?.(frame) === true) {
          finish({ frames, ended: false });
          call.cancel();
        }
      });
      call.on('error', (error: ServiceError) => finish({ frames, error, ended: false }));
      call.on('end', () => finish({ frames, ended: true }));
    });
    return { frames, done, call };
  }

  /** Streams events of one stream into `events` until cancelled. */
  watch(id: string, intervalMs = 1000): { events: StreamEvent[]; call: ClientReadableStream<StreamEvent>; ended: Promise<GrpcError | undefined> } {
    const call = this.client.watchStream({ id, intervalMs });
    const events: StreamEvent[] = [];
    call.on('data', (event: StreamEvent) => events.push(event));
    const ended = new Promise<GrpcError | undefined>((resolve) => {
      call.on('error', (error: ServiceError) => resolve(error));
      call.on('end', () => resolve(undefined));
    });
    return { events, call, ended };
  }

  /** Streams the list of open streams into `lists` until cancelled. */
  watchAll(minIntervalMs = 50): { lists: StreamInfo[][]; call: ClientReadableStream<{ streams: StreamInfo[] }> } {
    const call = this.client.watchStreams({ minIntervalMs });
    const lists: StreamInfo[][] = [];
    call.on('data', (list: { streams: StreamInfo[] }) => lists.push(list.streams));
    call.on('error', () => undefined);
    return { lists, call };
  }

  shutdown(): void {
    this.client.close();
  }
}

/** Waits until `predicate` holds for some event of the watch, polling its event list. */
export async function waitForEvent(events: StreamEvent[], predicate: (event: StreamEvent) => boolean, timeoutMs: number, what: string): Promise<StreamEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = events.find(predicate);
    if (match) return match;
    if (Date.now() > deadline) {
      const seen = events.map((e) => `${e.stream?.state}${e.stream?.reason ? ` (${e.stream.reason})` : ''}`).join(' → ');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; states seen: ${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A sidecar and a Streams client for one test file: started before its tests, killed
 * after them. Read `sidecar` and `client` inside tests (they are set by the `before` hook).
 */
export function useStreamsSidecar(options: StartOptions = {}): { sidecar: RunningSidecar; client: StreamsTestClient; token: string } {
  const rig = {} as { sidecar: RunningSidecar; client: StreamsTestClient; token: string };
  before(async () => {
    const token = newToken();
    rig.token = token;
    rig.sidecar = await startSidecar({ token, ...options });
    rig.client = new StreamsTestClient(rig.sidecar.address, token);
  });
  after(() => {
    rig.client?.shutdown();
    rig.sidecar?.kill();
  });
  return rig;
}
