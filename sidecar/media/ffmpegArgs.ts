import { type InputOptions, inputArgs, regionCrop } from './sourceArgs';
import type { FrameFormatName, OutputSpec, SourceSpec } from './types';

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
