/**
 * The media engine's shared vocabulary. Modules: uri (parse source URIs),
 * ffmpegArgs (build ffmpeg/ffprobe argument arrays), probe, devices,
 * frameSplitter (cut frames out of pipe bytes), showinfo (per-frame timestamps
 * from ffmpeg's showinfo filter), queue (per-subscriber buffering policies),
 * analytics (rolling figures), decoder (one ffmpeg per source), stream (state,
 * subscribers, reconnect, watchdog), registry and service (gRPC).
 */

export type Platform = 'linux' | 'darwin' | 'win32';

export type SourceSpec = TestSource | FileSource | CameraSource | ScreenSource | MicSource | NetworkSource | FeedSource;

interface SourceBase {
  /** The URI as given. */
  uri: string;
  /** Whether frames arrive in real time (camera, screen, network, test) rather than as fast as they are read. */
  live: boolean;
}

export interface TestTone {
  /** Hz of the sine. */
  frequency: number;
  sampleRate: number;
  channels: number;
}

export interface TestSource extends SourceBase {
  kind: 'test';
  /** False for test:audio (a tone and no picture). */
  video: boolean;
  width: number;
  height: number;
  rate: number;
  /** lavfi source name: testsrc2, testsrc, smptebars, rgbtestsrc, or `color` with `color` set. */
  pattern: string;
  color?: string;
  /** A sine tone as the audio track; absent: no audio. */
  tone?: TestTone;
  /** Stop after this many seconds; undefined runs forever. */
  durationSeconds?: number;
}

export interface MicSource extends SourceBase {
  kind: 'mic';
  /** A PulseAudio source name or "default" (Linux), an index (macOS), a name (Windows). */
  device: string;
  sampleRate?: number;
  channels?: number;
}

export interface FileSource extends SourceBase {
  kind: 'file';
  /** Absolute path on this machine. */
  path: string;
  loop: boolean;
  /** Pace at the native frame rate (ffmpeg -re). */
  realtime: boolean;
}

export interface CameraSource extends SourceBase {
  kind: 'camera';
  /** /dev/videoN (v4l2), an index or name (avfoundation), a name (dshow), or "default". */
  device: string;
  width?: number;
  height?: number;
  rate?: number;
  /** Capture pixel format or codec asked of the device, e.g. mjpeg, yuyv422. */
  pixelFormat?: string;
}

export interface ScreenSource extends SourceBase {
  kind: 'screen';
  /** :0.0 (x11grab), "desktop" (gdigrab), a screen index (avfoundation); empty → platform default / $DISPLAY. */
  display: string;
  region?: { x: number; y: number; width: number; height: number };
  rate: number;
  cursor: boolean;
}

export interface NetworkSource extends SourceBase {
  kind: 'network';
  protocol: 'rtsp' | 'rtsps' | 'rtmp' | 'rtmps' | 'srt' | 'udp' | 'http' | 'https';
  /** The URL handed to ffmpeg (the query options of ours removed). */
  url: string;
  /** RTSP transport; tcp by default. */
  transport: 'tcp' | 'udp';
}

/** Media the sidecar receives itself and pipes into ffmpeg (see feeds.ts), e.g. a WHIP publisher. */
export interface FeedSource extends SourceBase {
  kind: 'feed';
  /** The scheme it was opened with, e.g. "whip". */
  scheme: string;
  /** The feed's name in the FeedRegistry. */
  name: string;
}

export type FrameFormatName = 'jpeg' | 'rgb24' | 'rgba' | 'i420' | 'gray';

/** One distinct output of a decoder: subscribers asking for the same one share it. */
export interface OutputSpec {
  format: FrameFormatName;
  /** 0 = the source's size (or aspect-preserving when the other side is given). */
  width: number;
  height: number;
  /** 2..31, for jpeg. */
  jpegQuality: number;
}

export const outputKey = (o: OutputSpec) =>
  `${o.format}:${o.width}x${o.height}${o.format === 'jpeg' ? `:q${o.jpegQuality}` : ''}`;

export type SampleFormatName = 's16le' | 'f32le';

/** One distinct audio output: PCM in frames of a fixed duration. */
export interface AudioOutputSpec {
  sampleFormat: SampleFormatName;
  /** Hz; 0 = the source's rate. */
  sampleRate: number;
  /** 1 or 2; 0 = the source's (at most 2). */
  channels: number;
  frameMs: number;
}

export const audioOutputKey = (o: AudioOutputSpec) => `${o.sampleFormat}:${o.sampleRate}:${o.channels}:${o.frameMs}ms`;

/** What a subscriber queue needs of a frame, video or audio. */
export interface QueuedMedia {
  sequence: number;
  ptsUs: number;
  decodedAtUs: number;
  /** 0 when the source has no capture clock. */
  capturedAtUs: number;
  data: Buffer;
  /** For a pooled frame: called once by each subscriber that was given it, when it is done with it (bufferPool.ts). */
  release?: () => void;
}

/** Decoded audio as it leaves the decoder. */
export interface DecodedAudio {
  sequence: number;
  ptsUs: number;
  decodedAtUs: number;
  capturedAtUs: number;
  sampleRate: number;
  channels: number;
  sampleFormat: SampleFormatName;
  /** Samples per channel. */
  samples: number;
  data: Buffer;
}

/** A decoded frame as it leaves the decoder, before any subscriber queue. */
export interface DecodedFrame {
  /** 0-based count of frames out of the decoder since the stream opened (continues across restarts). */
  sequence: number;
  ptsUs: number;
  decodedAtUs: number;
  /** 0 when the source has no capture clock. */
  capturedAtUs: number;
  width: number;
  height: number;
  format: FrameFormatName;
  data: Buffer;
  /** As in QueuedMedia: the frame becomes each subscriber's queued media. */
  release?: () => void;
}

export type BufferPolicyName = 'wait' | 'drop_oldest' | 'drop_newest' | 'latest_only' | 'adaptive';

export type StreamStateName = 'idle' | 'starting' | 'live' | 'stalled' | 'reconnecting' | 'ended' | 'failed';

/** A source-side error that maps to a gRPC status with a message that says what to fix. */
export class MediaError extends Error {
  constructor(
    readonly code: 'invalid-argument' | 'not-found' | 'already-exists' | 'unavailable' | 'failed-precondition' | 'resource-exhausted' | 'internal',
    message: string,
  ) {
    super(message);
  }
}
