import { open, stat } from 'node:fs/promises';
import type { MediaStreamInfo, ProbeResponse } from '../../proto/gen/sidestream/v1/streams';
import { captureOutput } from '../processes';
import type { FileIdentity } from '../fileRevision';
import type { ProbeCache } from './probeCache';
import { openArgs } from './sourceArgs';
import { MediaError, type Platform, type SourceSpec } from './types';

interface FfprobeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  pix_fmt?: string;
  sample_rate?: string;
  channels?: number;
  bit_rate?: string;
}

interface FfprobeOutput {
  format?: { format_name?: string; duration?: string; bit_rate?: string };
  streams?: FfprobeStream[];
}

/** "30000/1001" → 29.97; "0/0" → 0. */
export function parseRate(text: string | undefined): number {
  if (!text) return 0;
  const [num, den] = text.split('/').map(Number);
  if (!Number.isFinite(num) || !den) return Number.isFinite(num) && den === undefined ? num! : 0;
  return num! / den;
}

const integer = (text: string | undefined) => (text && /^\d+$/.test(text) ? Number(text) : 0);

export function toProbeResponse(output: FfprobeOutput, live: boolean): ProbeResponse {
  const streams: MediaStreamInfo[] = (output.streams ?? []).map((s, i) => ({
    index: s.index ?? i,
    type: s.codec_type ?? 'data',
    codec: s.codec_name ?? '',
    profile: s.profile && s.profile !== 'unknown' ? s.profile : '',
    width: s.width ?? 0,
    height: s.height ?? 0,
    frameRate: parseRate(s.avg_frame_rate) || parseRate(s.r_frame_rate),
    pixelFormat: s.pix_fmt ?? '',
    sampleRate: integer(s.sample_rate),
    channels: s.channels ?? 0,
    bitRate: integer(s.bit_rate),
  }));
  const duration = Number(output.format?.duration);
  return {
    container: output.format?.format_name ?? '',
    durationSeconds: Number.isFinite(duration) && !live ? duration : 0,
    bitRate: integer(output.format?.bit_rate),
    streams,
    live,
  };
}

/** What a synthetic source is, without running ffprobe. */
function describeTestSource(spec: Extract<SourceSpec, { kind: 'test' }>): ProbeResponse {
  const streams: MediaStreamInfo[] = [];
  const blank = { profile: '', width: 0, height: 0, frameRate: 0, pixelFormat: '', sampleRate: 0, channels: 0, bitRate: 0 };
  if (spec.video) {
    streams.push({ ...blank, index: 0, type: 'video', codec: 'rawvideo', width: spec.width, height: spec.height, frameRate: spec.rate, pixelFormat: 'yuv420p' });
  }
  if (spec.tone) {
    const { sampleRate, channels } = spec.tone;
    streams.push({ ...blank, index: streams.length, type: 'audio', codec: 'pcm_s16le', sampleRate, channels, bitRate: sampleRate * channels * 16 });
  }
  return {
    container: 'lavfi',
    durationSeconds: spec.durationSeconds ?? 0,
    bitRate: Math.round(spec.width * spec.height * 1.5 * 8 * spec.rate) + streams.reduce((sum, s) => sum + s.bitRate, 0),
    live: true,
    streams,
  };
}

/**
 * What a microphone delivers, without opening it: ffprobe on a PulseAudio source takes
 * about 2 s, the time the decode would then lose again. PCM has nothing to discover;
 * the pulse input delivers 48 kHz stereo unless asked otherwise. Elsewhere the rate is
 * the device's own (0: unknown until decoded; outputs then default to 48 kHz).
 */
export function describeMicSource(spec: Extract<SourceSpec, { kind: 'mic' }>, platform: Platform): ProbeResponse {
  const defaults = platform === 'linux' ? { sampleRate: 48_000, channels: 2 } : { sampleRate: 0, channels: 0 };
  const sampleRate = spec.sampleRate ?? defaults.sampleRate;
  const channels = spec.channels ?? defaults.channels;
  return {
    container: { linux: 'pulse', darwin: 'avfoundation', win32: 'dshow' }[platform],
    durationSeconds: 0,
    bitRate: sampleRate * channels * 16,
    live: true,
    streams: [
      { index: 0, type: 'audio', codec: 'pcm_s16le', profile: '', width: 0, height: 0, frameRate: 0, pixelFormat: '', sampleRate, channels, bitRate: sampleRate * channels * 16 },
    ],
  };
}

/** Names what a file that is not media looks like, from its first bytes. */
export function describeBytes(head: Buffer): string {
  if (head.length === 0) return 'an empty file';
  const signatures: Array<[string, string]> = [
    ['89504e47', 'a PNG image'],
    ['ffd8ff', 'a JPEG image'],
    ['47494638', 'a GIF image'],
    ['25504446', 'a PDF document'],
    ['504b0304', 'a ZIP archive'],
    ['7f454c46', 'an ELF executable'],
    ['1f8b', 'a gzip archive'],
    ['4d5a', 'a Windows executable'],
  ];
  const hex = head.subarray(0, 8).toString('hex');
  for (const [magic, name] of signatures) if (hex.startsWith(magic)) return name;
  const sample = head.subarray(0, 512);
  const printable = sample.filter((byte) => byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127)).length;
  if (printable / sample.length > 0.95) {
    const firstLine = sample.toString('utf8').split(/\r?\n/, 1)[0]!.slice(0, 60);
    return `text ("${firstLine}${firstLine.length === 60 ? '…' : ''}")`;
  }
  return `binary data of no known media format (first bytes ${head.subarray(0, 8).toString('hex').replace(/(..)/g, '$1 ').trim()})`;
}

async function readHead(path: string, bytes = 4096): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The file's identity (for the probe cache), once it is known to be a file with content. */
async function checkFile(path: string): Promise<FileIdentity> {
  let stats;
  try {
    stats = await stat(path, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new MediaError('not-found', `${path} does not exist`);
    throw new MediaError('invalid-argument', `cannot read ${path}: ${(error as Error).message}`);
  }
  if (!stats.isFile()) throw new MediaError('invalid-argument', `${path} is not a file`);
  if (stats.size === 0n) throw new MediaError('invalid-argument', `${path} is empty`);
  return stats;
}

/** ffprobe's own complaint, without its "[demuxer @ 0x…]" prefixes and repeated lines. */
function ffprobeComplaint(stderr: string, input: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.replace(/^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/, '').trim())
    .map((line) => (line.startsWith(`${input}: `) ? line.slice(input.length + 2) : line))
    .filter(Boolean);
  return [...new Set(lines)].slice(-3).join('; ');
}

export interface ProbeOptions {
  platform: Platform;
  timeoutMs: number;
  /** Answers for local files that have not changed since they were probed. */
  cache?: ProbeCache;
}

/**
 * Inspects a source with ffprobe. The container is detected from the bytes (a WebM
 * named .mp4 is WebM); a file that is not media fails with INVALID_ARGUMENT naming
 * what it looks like; a network source that does not answer fails with UNAVAILABLE.
 */
export async function probeSource(ffprobe: string, spec: SourceSpec, options: ProbeOptions): Promise<ProbeResponse> {
  if (spec.kind === 'test') return describeTestSource(spec);
  if (!ffprobe) throw new MediaError('failed-precondition', 'ffprobe was not found: install ffmpeg or set sidestream.ffprobePath');
  const file = spec.kind === 'file' ? await checkFile(spec.path) : undefined;
  const args = ['-hide_banner', '-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...openArgs(spec, options.platform)];
  // The answer depends on the ffprobe, what it is asked and, for `live`, on the spec.
  const cacheKey = [ffprobe, String(spec.live), ...args].join('\0');
  const cached = file && options.cache?.get(cacheKey, file);
  if (cached) return cached;
  const run = await captureOutput(ffprobe, args, options.timeoutMs);
  const complaint = ffprobeComplaint(run.stderr, args.at(-1)!);
  if (run.code !== 0 || complaint.includes('Invalid data found')) {
    if (spec.kind === 'file') {
      const looksLike = describeBytes(await readHead(spec.path));
      throw new MediaError('invalid-argument', `${spec.path} is not media ffmpeg can read: ${complaint || `ffprobe exited ${run.code}`}; the file looks like ${looksLike}`);
    }
    if (run.code === null) throw new MediaError('unavailable', `${spec.uri} did not answer within ${options.timeoutMs} ms`);
    throw new MediaError('unavailable', `cannot open ${spec.uri}: ${complaint || `ffprobe exited ${run.code}`}`);
  }
  let output: FfprobeOutput;
  try {
    output = JSON.parse(run.stdout) as FfprobeOutput;
  } catch {
    throw new MediaError('internal', `ffprobe printed no JSON for ${spec.uri}: ${run.stdout.slice(0, 200)}`);
  }
  // A network source with a duration (HLS VOD, a file over HTTP) ends; one without is live.
  const live = spec.kind === 'network' ? !(Number(output.format?.duration) > 0) : spec.live;
  const probe = toProbeResponse(output, live);
  if (probe.streams.length === 0) {
    const looksLike = spec.kind === 'file' ? `; the file looks like ${describeBytes(await readHead(spec.path))}` : '';
    throw new MediaError('invalid-argument', `${spec.uri} has no audio or video streams (container "${probe.container}")${looksLike}`);
  }
  if (file) options.cache?.set(cacheKey, file, probe);
  return probe;
}
