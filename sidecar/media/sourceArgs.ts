import type { Platform, SourceSpec } from './types';

/**
 * How ffmpeg (and ffprobe) open each kind of source: demuxer options and `-i`, as
 * argument arrays. The decode command around them is built in ffmpegArgs.ts.
 */

/** Whether the source delivers compressed video that a hardware decoder could take. */
export function decodesCompressedVideo(spec: SourceSpec): boolean {
  return spec.kind === 'file' || spec.kind === 'network' || spec.kind === 'camera' || spec.kind === 'feed';
}

/**
 * The synthetic source as a lavfi graph, paced in real time. Each frame (and each block
 * of tone) is stamped with the wall clock at the moment it is released (settb +
 * setpts=RTCTIME), so that its timestamp is its capture time, as with a camera.
 * With both picture and tone the graph has two outputs, out0 (video) and out1 (audio).
 */
export function lavfiSource(spec: Extract<SourceSpec, { kind: 'test' }>): string {
  const duration = spec.durationSeconds !== undefined ? `:duration=${spec.durationSeconds}` : '';
  const chains: string[] = [];
  if (spec.video) {
    const size = `${spec.width}x${spec.height}`;
    const generator =
      spec.pattern === 'color' ? `color=c=${spec.color}:size=${size}:rate=${spec.rate}${duration}` : `${spec.pattern}=size=${size}:rate=${spec.rate}${duration}`;
    chains.push(`${generator},realtime,settb=AVTB,setpts=RTCTIME`);
  }
  if (spec.tone) {
    const { frequency, sampleRate, channels } = spec.tone;
    // 10 ms blocks: audio captured in small steps, as a microphone delivers it. Stereo is
    // the same sine at full level on both channels (an upmix would lower it by 3 dB).
    const block = Math.round(sampleRate / 100);
    // Alone, the tone is paced by arealtime. Beside a picture, the
    // picture's realtime paces the whole graph (lavfi reads the output that is behind, and
    // two realtime filters in one graph hold each other up: 3 s took 5 s), so the tone is
    // stamped by its sample count from the moment its first block is taken, which is when
    // the first picture is (stamping from the graph's start put audio 45 ms ahead).
    // Either way each block after the first is stamped one block after it: a steady clock,
    // as a sound card's, whatever the scheduling jitter of the moment it is released.
    const clock = `${spec.video ? '' : 'arealtime,'}asettb=AVTB,asetpts=if(eq(N\\,0)\\,RTCTIME\\,PREV_OUTPTS+${block}/SR/TB)`;
    chains.push(`sine=f=${frequency}:r=${sampleRate}:samples_per_frame=${block}${duration},${channels === 1 ? 'aformat=channel_layouts=mono' : 'pan=stereo|c0=c0|c1=c0'},${clock}`);
  }
  return chains.length === 1 ? chains[0]! : chains.map((chain, i) => `${chain}[out${i}]`).join(';');
}

/**
 * Frame threads make a decoder (and the mjpeg encoder) hold one frame per thread:
 * latency a live source should not pay. Slice threads keep the parallelism.
 */
export const lowLatencyThreads = ['-thread_type', 'slice'];

/** Which input of the command holds the video and which the audio, as ffmpeg stream specifiers. */
export interface InputStreams {
  video: string;
  audio: string;
}

export function inputStreams(spec: SourceSpec, feedInputs: ReadonlyArray<{ media?: 'video' | 'audio' }> = []): InputStreams {
  if (spec.kind !== 'feed') return { video: '0:v:0', audio: '0:a:0' };
  const videoIndex = Math.max(0, feedInputs.findIndex((input) => input.media !== 'audio'));
  const audioIndex = feedInputs.findIndex((input) => input.media === 'audio');
  return { video: `${videoIndex}:v:0`, audio: `${audioIndex < 0 ? videoIndex : audioIndex}:a:0` };
}

export interface InputOptions {
  platform: Platform;
  /** "auto", "none" or an ffmpeg hwaccel name. */
  hwaccel: string;
  /** Seek to this many seconds before decoding (a file restarted where it was). */
  startAtSeconds?: number;
  /** For feeds: the inputs, read from the pipes after the outputs' pipes. */
  feedInputs?: ReadonlyArray<{ demuxerArgs: string[]; media?: 'video' | 'audio' }>;
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
    case 'mic':
      return micArgs(spec, platform);
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
      args.push('-copyts', ...lowLatencyThreads);
      break;
    case 'mic':
      // Its timestamps are the capture clock: keep them; nothing to probe in raw PCM.
      args.push('-copyts', '-fflags', 'nobuffer');
      break;
    case 'network':
      args.push(...lowLatencyThreads);
      break;
    case 'feed': {
      // Its inputs are pipes after the outputs' (see buildDecodeArgs). The feed's demuxer
      // options say how its timestamps are made; -copyts keeps them. (No -fflags nobuffer:
      // it drops the packets read while probing, and with them the only keyframe.)
      const first = 3 + (options.outputCount ?? 0);
      return [
        ...args,
        '-copyts',
        ...lowLatencyThreads,
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

/** PulseAudio asks for 10 ms fragments: its default is large enough to be latency. */
export function micArgs(spec: Extract<SourceSpec, { kind: 'mic' }>, platform: Platform): string[] {
  const rate = spec.sampleRate ? ['-sample_rate', String(spec.sampleRate)] : [];
  const channels = spec.channels ? ['-channels', String(spec.channels)] : [];
  switch (platform) {
    case 'linux': {
      const fragment = Math.round(((spec.sampleRate ?? 48_000) * (spec.channels ?? 2) * 2) / 100);
      return ['-f', 'pulse', ...rate, ...channels, '-fragment_size', String(fragment), '-i', spec.device];
    }
    case 'darwin':
      return ['-f', 'avfoundation', ...rate, ...channels, '-i', `none:${spec.device}`];
    case 'win32':
      return ['-f', 'dshow', ...rate, ...channels, '-i', `audio=${spec.device}`];
  }
}

/** macOS screens capture whole; a region is cropped in the filter graph. */
export function regionCrop(spec: SourceSpec, platform: Platform): string | undefined {
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

