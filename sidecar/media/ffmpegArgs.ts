import { type RecordingPlan, recordingOutputArgs, recordingVideoChain } from './recordingArgs';
import { type InputOptions, inputArgs, inputStreams, lowLatencyThreads, regionCrop } from './sourceArgs';
import type { AudioOutputSpec, FrameFormatName, OutputSpec, SampleFormatName, SourceSpec } from './types';

/**
 * ffmpeg command lines as argument arrays (never a shell string). One decode per
 * source: the input, a filter graph that splits the decoded video once per distinct
 * output (scale + pixel format + a named showinfo that reports each frame's pts on
 * stderr), and one pipe per output on fd 3, 4, … Audio outputs follow the video
 * outputs: the decoded audio split once per distinct PCM output (resample, sample
 * format, channel layout, fixed-size frames, a named ashowinfo), each on its own pipe.
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
/** The label of audio output i: its filter is `ashowinfo@<label>`. */
export const audioOutputLabel = (index: number) => `a${index}`;

export interface ResolvedAudioOutput extends AudioOutputSpec {
  /** Samples per channel in each frame (the last frame of a source may have fewer). */
  frameSamples: number;
}

export const bytesPerSample: Record<SampleFormatName, number> = { s16le: 2, f32le: 4 };

/** An audio output with the source's rate and channels filled in where the request left them to the source. */
export function resolveAudioOutput(requested: AudioOutputSpec, source: { sampleRate: number; channels: number }): ResolvedAudioOutput {
  const sampleRate = requested.sampleRate || source.sampleRate || 48_000;
  const channels = requested.channels || Math.min(2, Math.max(1, source.channels || 2));
  return { ...requested, sampleRate, channels, frameSamples: Math.max(1, Math.round((sampleRate * requested.frameMs) / 1000)) };
}

function audioChain(output: ResolvedAudioOutput, index: number): string {
  const sampleFormat = output.sampleFormat === 's16le' ? 's16' : 'flt';
  const layout = output.channels === 1 ? 'mono' : 'stereo';
  // aresample also sets the time base to 1/rate, which ashowinfo's pts are read in.
  return `aresample=${output.sampleRate},aformat=sample_fmts=${sampleFormat}:channel_layouts=${layout},asetnsamples=n=${output.frameSamples}:p=0,ashowinfo@${audioOutputLabel(index)}`;
}

function audioOutputArgs(output: ResolvedAudioOutput, index: number, pipe: number): string[] {
  return ['-map', `[${audioOutputLabel(index)}]`, '-c:a', `pcm_${output.sampleFormat}`, '-f', output.sampleFormat, '-flush_packets', '1', `pipe:${pipe}`];
}

/** A filter graph part that feeds `count` chains from one input pad, split when there are several. */
function fanOut(input: string, chains: string[], labels: string[], split: 'split' | 'asplit', prefix: string): string[] {
  if (chains.length === 1) return [`${input}${chains[0]}[${labels[0]}]`];
  return [
    `${input}${split}=${chains.length}${chains.map((_, i) => `[${prefix}${i}]`).join('')}`,
    ...chains.map((chain, i) => `[${prefix}${i}]${chain}[${labels[i]}]`),
  ];
}

export type ResolvedOutput = OutputSpec & ResolvedSize;

/** One output's filter chain: scale (only when the size changes), pixel format, showinfo. */
function outputChain(output: ResolvedOutput, source: ResolvedSize, index: number, alwaysScale = false): string {
  const steps: string[] = [];
  // A feed's picture size can change mid-stream (a WebRTC publisher adapts it): scale to the size the outputs promise.
  const scaled = alwaysScale || output.width !== source.width || output.height !== source.height;
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

/**
 * JPEG of frames that arrive at their own pace (a live source, a file played in real
 * time) is encoded with `lowLatencyThreads`. A file read as fast as it decodes keeps
 * ffmpeg's frame threads, which let ffmpeg scale the next frame while the last is
 * encoded: 4-5 % more JPEG previews per second here, on 2 cores shared with the sidecar
 * and its subscriber.
 */
function outputArgs(output: ResolvedOutput, index: number, paced: boolean): string[] {
  const common = ['-map', `[${outputLabel(index)}]`, '-fps_mode', 'passthrough', '-flush_packets', '1'];
  const target = `pipe:${3 + index}`;
  if (output.format === 'jpeg') {
    return [
      ...common,
      '-c:v', 'mjpeg',
      '-q:v', String(output.jpegQuality),
      ...(paced ? lowLatencyThreads : []),
      '-strict', 'unofficial',
      '-color_range', 'pc',
      '-f', 'image2pipe',
      target,
    ];
  }
  return [...common, '-c:v', 'rawvideo', '-f', 'rawvideo', target];
}

/** The label of the decoded pictures recording i encodes. */
const recordingVideoLabel = (index: number) => `rv${index}`;

/**
 * The whole decode command: every distinct output of one source from one ffmpeg, on
 * pipes in this order: video outputs, audio outputs, recordings (NUT packets).
 */
export function buildDecodeArgs(
  spec: SourceSpec,
  outputs: readonly ResolvedOutput[],
  source: ResolvedSize,
  options: InputOptions,
  audioOutputs: readonly ResolvedAudioOutput[] = [],
  recordings: readonly RecordingPlan[] = [],
  frameRate = 0,
): string[] {
  if (outputs.length + audioOutputs.length + recordings.length === 0) throw new Error('a decoder needs at least one output');
  const streams = inputStreams(spec, options.feedInputs);
  const graph: string[] = [];
  const encoded = recordings.flatMap((plan, index) => (plan.video && !plan.video.copy ? [index] : []));
  const videoChains = [...outputs.map((output, index) => outputChain(output, source, index, spec.kind === 'feed')), ...encoded.map(() => recordingVideoChain)];
  const videoLabels = [...outputs.map((_, i) => outputLabel(i)), ...encoded.map(recordingVideoLabel)];
  if (videoChains.length > 0) {
    const crop = regionCrop(spec, options.platform);
    graph.push(...fanOut(`[${streams.video}]${crop ? `${crop},` : ''}`, videoChains, videoLabels, 'split', 's'));
  }
  if (audioOutputs.length > 0) {
    graph.push(...fanOut(`[${streams.audio}]`, audioOutputs.map(audioChain), audioOutputs.map((_, i) => audioOutputLabel(i)), 'asplit', 'as'));
  }
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel', 'level+info',
    ...inputArgs(spec, { ...options, outputCount: outputs.length + audioOutputs.length + recordings.length }),
    ...(graph.length > 0 ? ['-filter_complex', graph.join(';')] : []),
    ...outputs.flatMap((output, index) => outputArgs(output, index, spec.live || (spec.kind === 'file' && spec.realtime))),
    ...audioOutputs.flatMap((output, index) => audioOutputArgs(output, index, 3 + outputs.length + index)),
    ...recordings.flatMap((plan, index) =>
      recordingOutputArgs(plan, { video: streams.video, audio: streams.audio }, 3 + outputs.length + audioOutputs.length + index, recordingVideoLabel(index), frameRate),
    ),
  ];
}
