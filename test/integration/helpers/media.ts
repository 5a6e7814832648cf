// Media fixtures made at test time with the real ffmpeg, and reference decodes to
// compare the sidecar's frames with.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let fixtureRoot: string | undefined;

/** One temporary folder per test process, removed when it exits. */
export function fixtureDir(): string {
  if (!fixtureRoot) {
    const dir = mkdtempSync(join(tmpdir(), 'sidestream-media-'));
    fixtureRoot = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return fixtureRoot;
}

function ffmpeg(args: string[], maxBuffer = 1 << 28): Buffer {
  const run = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { maxBuffer });
  if (run.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${run.stderr?.toString()}`);
  return run.stdout;
}

let encoderList: string | undefined;

export function hasEncoder(name: string): boolean {
  encoderList ??= spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' }).stdout;
  return new RegExp(`^ V\\S* ${name} `, 'm').test(encoderList);
}

const made = new Map<string, string>();

/**
 * Encodes `seconds` of a lavfi pattern into `name` (the extension is only a name:
 * `format` decides the container). Cached per name within the test process.
 */
export function makeClip(name: string, options: { codec: string[]; format: string; pattern?: string; size?: string; rate?: number; seconds?: number; extra?: string[] }): string {
  const existing = made.get(name);
  if (existing) return existing;
  const path = join(fixtureDir(), name);
  const { pattern = 'smptebars', size = '320x240', rate = 25, seconds = 2 } = options;
  ffmpeg(['-f', 'lavfi', '-i', `${pattern}=size=${size}:rate=${rate}`, '-t', String(seconds), ...options.codec, ...(options.extra ?? []), '-f', options.format, '-y', path]);
  made.set(name, path);
  return path;
}

/** The codecs this ffmpeg can both encode (to make a fixture) and decode, with their encoder settings. */
export const codecFixtures = [
  { codec: 'h264', encoder: 'libx264', name: 'h264.mp4', format: 'mp4', args: ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-pix_fmt', 'yuv420p'] },
  { codec: 'vp8', encoder: 'libvpx', name: 'vp8.webm', format: 'webm', args: ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M'] },
  { codec: 'vp9', encoder: 'libvpx-vp9', name: 'vp9.webm', format: 'webm', args: ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M'] },
  { codec: 'hevc', encoder: 'libx265', name: 'hevc.mp4', format: 'mp4', args: ['-c:v', 'libx265', '-preset', 'ultrafast', '-tag:v', 'hvc1', '-x265-params', 'log-level=error'] },
  { codec: 'av1', encoder: 'libsvtav1', name: 'av1.mkv', format: 'matroska', args: ['-c:v', 'libsvtav1', '-preset', '12', '-pix_fmt', 'yuv420p'] },
] as const;

/** ffmpeg's own decode of a clip to raw frames, for comparison (the same scaler settings as the sidecar's). */
export function referenceFrames(path: string, options: { pixFmt: string; width: number; height: number; bytesPerFrame: number; count: number; scale?: boolean }): Buffer[] {
  const filters = [...(options.scale ? [`scale=${options.width}:${options.height}:flags=bilinear`] : []), `format=${options.pixFmt}`];
  const raw = ffmpeg(['-i', path, '-frames:v', String(options.count), '-vf', filters.join(','), '-f', 'rawvideo', '-']);
  const frames: Buffer[] = [];
  for (let offset = 0; offset + options.bytesPerFrame <= raw.length; offset += options.bytesPerFrame) frames.push(raw.subarray(offset, offset + options.bytesPerFrame));
  return frames;
}

/** Mean absolute difference of two equally long byte buffers. */
export function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) throw new Error(`buffers differ in length: ${a.length} vs ${b.length}`);
  let total = 0;
  for (let i = 0; i < a.length; i++) total += Math.abs(a[i]! - b[i]!);
  return total / a.length;
}

/** The RGB of one pixel of a packed RGB24 frame. */
export function rgbAt(frame: Buffer, width: number, x: number, y: number): [number, number, number] {
  const offset = (y * width + x) * 3;
  return [frame[offset]!, frame[offset + 1]!, frame[offset + 2]!];
}

/** SMPTE bars (75 %): the seven top bars from the left, as ffmpeg's smptebars draws them. */
export const smpteTopBars: Array<[string, [number, number, number]]> = [
  ['white', [191, 191, 191]],
  ['yellow', [191, 191, 0]],
  ['cyan', [0, 191, 191]],
  ['green', [0, 191, 0]],
  ['magenta', [191, 0, 191]],
  ['red', [191, 0, 0]],
  ['blue', [0, 0, 191]],
];

/** Width and height from a JPEG's SOF marker. */
export function jpegSize(jpeg: Buffer): { width: number; height: number } {
  let offset = 2;
  while (offset + 9 < jpeg.length) {
    const marker = jpeg[offset + 1]!;
    const length = jpeg.readUInt16BE(offset + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: jpeg.readUInt16BE(offset + 5), width: jpeg.readUInt16BE(offset + 7) };
    }
    offset += 2 + length;
  }
  throw new Error('no SOF marker in the JPEG');
}

/** Decodes a JPEG with ffmpeg to RGB24. */
export function decodeJpeg(jpeg: Buffer): Buffer {
  const run = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'image2pipe', '-i', '-', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { input: jpeg, maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`ffmpeg could not decode the JPEG: ${run.stderr.toString()}`);
  return run.stdout;
}
