import type { FrameFormatName, OutputSpec, Platform, SourceSpec } from './types';

/**
 * ffmpeg command lines as argument arrays (never a shell string). One decode per
 * source: the input, a filter graph that splits the decoded video once per distinct
 * output (scale + pixel format + a named showinfo that reports each frame's pts on
 * stderr), and one pipe per output on fd 3, 4, …
 */

export interface ResolvedSize {
  width: number;
  height: number;
}

/** Bytes of one tightly packed raw frame; JPEG frames have no fixed size (0). */
export function frameByteLength(format: FrameFormatName, width: number, height: number): number {
  switch (format) {
    case 'rgb24':
      return width * height * 3;
    case 'rgba':
      return width * height * 4;
    case 'gray':
      return width * height;
    case 'i420':
      return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
    case 'jpeg':
      return 0;
  }
}

const even = (n: number) => Math.max(2, n - (n % 2));

/**
 * The size an output gets: the source's size when neither side is asked, the other
 * side from the aspect ratio when one is. 4:2:0 outputs (I420, JPEG) get even sizes.
 */
export function resolveOutputSize(requested: Pick<OutputSpec, 'format' | 'width' | 'height'>, source: ResolvedSize): ResolvedSize {
  let { width, height } = requested;
  if (!width && !height) {
    width = source.width;
    height = source.height;
  } else if (!width) {
    width = Math.max(1, Math.round((source.width * height) / source.height));
  } else if (!height) {
    height = Math.max(1, Math.round((source.height * width) / source.width));
  }
  if (requested.format === 'i420' || requested.format === 'jpeg') return { width: even(width), height: even(height) };
  return { width, height };
}

const filterPixelFormat: Record<Exclude<FrameFormatName, 'jpeg'>, string> = {
  rgb24: 'rgb24',
  rgba: 'rgba',
  gray: 'gray',
  i420: 'yuv420p',
};

/** The label of output i: its showinfo filter is `showinfo@<label>`, its pad `[<label>]`. */
export const outputLabel = (index: number) => `o${index}`;

/** Whether the source delivers compressed video that a hardware decoder could take. */
function decodesCompressedVideo(spec: SourceSpec): boolean {
  return spec.kind === 'file' || spec.kind === 'network' || spec.kind === 'camera' || spec.kind === 'feed';
}

/**
 * The synthetic source as a lavfi graph, paced in real time. Each frame is stamped
 * with the wall clock at the moment it is released (settb + setpts=RTCTIME), so that
 * its timestamp is its capture time, as with a camera.
 */
function lavfiSource(spec: Extract<SourceSpec, { kind: 'test' }>): string {
  const size = `${spec.width}x${spec.height}`;
  const duration = spec.durationSeconds !== undefined ? `:duration=${spec.durationSeconds}` : '';
  const generator =
    spec.pattern === 'color' ? `color=c=${spec.color}:size=${size}:rate=${spec.rate}${duration}` : `${spec.pattern}=size=${size}:rate=${spec.rate}${duration}`;
  return `${generator},realtime,settb=AVTB,setpts=RTCTIME`;
}

/**
 * Frame threads make a decoder (and the mjpeg encoder) hold one frame per thread:
 * latency a live source should not pay. Slice threads keep the parallelism.
 */
const liveDecoderThreads = ['-thread_type', 'slice'];

export interface InputOptions {
  platform: Platform;
  /** "auto", "none" or an ffmpeg hwaccel name. */
  hwaccel: string;
  /** Seek to this many seconds before decoding (a file restarted where it was). */
  startAtSeconds?: number;
  /** For feeds: the inputs, read from the pipes after the outputs' pipes. */
  feedInputs?: ReadonlyArray<{ demuxerArgs: string[] }>;
  /** How many outputs (pipes 3, 4, …) come before the feed's input pipes. */
  outputCount?: number;
}

/** The demuxer options and `-i` that open a source: shared by ffmpeg and ffprobe. */
export function openArgs(spec: SourceSpec, platform: Platform): string[] {
  switch (spec.kind) {
    case 'feed':
      throw new Error('a feed is opened through its pipes (feedInputArgs), not by ffprobe');
    case 'test':
      return ['-f', 'lavfi', '-i', lavfiSource(spec)];
    case 'file':
      return ['-i', spec.path];
    case 'camera':
      return cameraArgs(spec, platform);
    case 'screen':
      return screenArgs(spec, platform);
    case 'network':
      return networkArgs(spec);
  }
}

/** The arguments that open one source for decoding, up to and including `-i`. */
export function inputArgs(spec: SourceSpec, options: InputOptions): string[] {
  const args: string[] = [];
  if (decodesCompressedVideo(spec) && options.hwaccel !== 'none') args.push('-hwaccel', options.hwaccel);
  switch (spec.kind) {
    case 'test':
      // Its timestamps are the capture clock (see lavfiSource): keep them. lavfi knows
      // its stream without probing, and probed frames would sit in a buffer as latency.
      args.push('-copyts', '-fflags', 'nobuffer', '-probesize', '32', '-analyzeduration', '0', '-fpsprobesize', '0');
      break;
    case 'file':
      // -copyts: frames carry the file's own presentation timestamps, also after a seek.
      args.push('-copyts');
      if (spec.realtime) args.push('-re');
      if (spec.loop) args.push('-stream_loop', '-1');
      if (options.startAtSeconds) args.push('-ss', options.startAtSeconds.toFixed(6));
      break;
    case 'screen':
      // Its timestamps are the capture clock: keep them. Every frame stands alone, so the
      // frames read while probing need not be kept (they would be latency).
      args.push('-copyts', '-fflags', 'nobuffer');
      break;
    case 'camera':
      // Its timestamps are the capture clock: keep them. (A camera may send H264, whose
      // first keyframe -fflags nobuffer would drop.)
      args.push('-copyts', ...liveDecoderThreads);
      break;
    case 'network':
      args.push(...liveDecoderThreads);
      break;
    case 'feed': {
      // Its inputs are pipes after the outputs' (see buildDecodeArgs). The feed's demuxer
      // options say how its timestamps are made; -copyts keeps them. (No -fflags nobuffer:
      // it drops the packets read while probing, and with them the only keyframe.)
      const first = 3 + (options.outputCount ?? 0);
      return [
        ...args,
        '-copyts',
        ...liveDecoderThreads,
        ...(options.feedInputs ?? []).flatMap((input, i) => [...input.demuxerArgs, '-i', `pipe:${first + i}`]),
      ];
    }
  }
  return [...args, ...openArgs(spec, options.platform)];
}

export function cameraArgs(spec: Extract<SourceSpec, { kind: 'camera' }>, platform: Platform): string[] {
  const size = spec.width && spec.height ? ['-video_size', `${spec.width}x${spec.height}`] : [];
  const rate = spec.rate ? ['-framerate', String(spec.rate)] : [];
  switch (platform) {
    case 'linux':
      return ['-f', 'v4l2', ...(spec.pixelFormat ? ['-input_format', spec.pixelFormat] : []), ...size, ...rate, '-i', spec.device];
    case 'darwin':
      return ['-f', 'avfoundation', ...(spec.pixelFormat ? ['-pixel_format', spec.pixelFormat] : []), ...size, ...rate, '-i', `${spec.device}:none`];
    case 'win32':
      return ['-f', 'dshow', ...(spec.pixelFormat ? ['-vcodec', spec.pixelFormat] : []), ...size, ...rate, '-i', `video=${spec.device}`];
  }
}

export function screenArgs(spec: Extract<SourceSpec, { kind: 'screen' }>, platform: Platform): string[] {
  const rate = ['-framerate', String(spec.rate)];
  const region = spec.region;
  switch (platform) {
    case 'linux':
      return [
        '-f', 'x11grab',
        ...rate,
        '-draw_mouse', spec.cursor ? '1' : '0',
        ...(region ? ['-video_size', `${region.width}x${region.height}`] : []),
        '-i', region ? `${spec.display}+${region.x},${region.y}` : spec.display,
      ];
    case 'win32':
      return [
        '-f', 'gdigrab',
        ...rate,
        '-draw_mouse', spec.cursor ? '1' : '0',
        ...(region ? ['-offset_x', String(region.x), '-offset_y', String(region.y), '-video_size', `${region.width}x${region.height}`] : []),
        '-i', spec.display,
      ];
    case 'darwin':
      // avfoundation has no region option: the crop is part of the filter graph (see regionCrop).
      return ['-f', 'avfoundation', ...rate, '-capture_cursor', spec.cursor ? '1' : '0', '-i', `${spec.display}:none`];
  }
}

/** macOS screens capture whole; a region is cropped in the filter graph. */
function regionCrop(spec: SourceSpec, platform: Platform): string | undefined {
  if (spec.kind !== 'screen' || platform !== 'darwin' || !spec.region) return undefined;
  const { x, y, width, height } = spec.region;
  return `crop=${width}:${height}:${x}:${y}`;
}

/** Seconds ffmpeg waits on a silent network source before it gives up (then we reconnect). */
const networkTimeoutSeconds = 10;

/** One second of a live stream tells its codec and size; ffmpeg's default five is start-up delay. */
const networkAnalyze = ['-analyzeduration', '1000000'];

export function networkArgs(spec: Extract<SourceSpec, { kind: 'network' }>): string[] {
  const timeoutUs = String(networkTimeoutSeconds * 1_000_000);
  switch (spec.protocol) {
    case 'rtsp':
    case 'rtsps':
      return ['-rtsp_transport', spec.transport, '-timeout', timeoutUs, ...networkAnalyze, '-i', spec.url];
    case 'http':
    case 'https':
    case 'rtmp':
    case 'rtmps':
      return ['-rw_timeout', timeoutUs, ...networkAnalyze, '-i', spec.url];
    case 'srt':
    case 'udp':
      return ['-timeout', timeoutUs, ...networkAnalyze, '-i', spec.url];
  }
}

export type ResolvedOutput = OutputSpec & ResolvedSize;

/** One output's filter chain: scale (only when the size changes), pixel format, showinfo. */
function outputChain(output: ResolvedOutput, source: ResolvedSize, index: number): string {
  const steps: string[] = [];
  const scaled = output.width !== source.width || output.height !== source.height;
  if (output.format === 'jpeg') {
    // Full-range 4:2:0, as JPEG defines it (limited range would look washed out).
    steps.push(`scale=${scaled ? `${output.width}:${output.height}:` : ''}out_range=full:flags=bilinear`, 'format=yuv420p');
  } else {
    if (scaled) steps.push(`scale=${output.width}:${output.height}:flags=bilinear`);
    steps.push(`format=${filterPixelFormat[output.format]}`);
  }
  steps.push(`showinfo@${outputLabel(index)}=checksum=0`);
  return steps.join(',');
}

function outputArgs(output: ResolvedOutput, index: number): string[] {
  const common = ['-map', `[${outputLabel(index)}]`, '-fps_mode', 'passthrough', '-flush_packets', '1'];
  const target = `pipe:${3 + index}`;
  if (output.format === 'jpeg') {
    return [
      ...common,
      '-c:v', 'mjpeg',
      '-q:v', String(output.jpegQuality),
      '-thread_type', 'slice',
      '-strict', 'unofficial',
      '-color_range', 'pc',
      '-f', 'image2pipe',
      target,
    ];
  }
  return [...common, '-c:v', 'rawvideo', '-f', 'rawvideo', target];
}

/** The whole decode command: every distinct output of one source from one ffmpeg. */
export function buildDecodeArgs(spec: SourceSpec, outputs: readonly ResolvedOutput[], source: ResolvedSize, options: InputOptions): string[] {
  if (outputs.length === 0) throw new Error('a decoder needs at least one output');
  const crop = regionCrop(spec, options.platform);
  const head = `[0:v:0]${crop ? `${crop},` : ''}`;
  const chains = outputs.map((output, index) => outputChain(output, source, index));
  const graph =
    outputs.length === 1
      ? `${head}${chains[0]}[${outputLabel(0)}]`
      : [
          `${head}split=${outputs.length}${outputs.map((_, i) => `[s${i}]`).join('')}`,
          ...chains.map((chain, i) => `[s${i}]${chain}[${outputLabel(i)}]`),
        ].join(';');
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel', 'level+info',
    ...inputArgs(spec, { ...options, outputCount: outputs.length }),
    '-filter_complex', graph,
    ...outputs.flatMap((output, index) => outputArgs(output, index)),
  ];
}
