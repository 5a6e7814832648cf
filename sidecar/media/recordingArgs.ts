import { MediaError } from './types';

/**
 * What a recording writes and how, as argument arrays. A recording has two ffmpeg
 * halves: the stream's decoder adds one output that carries the recording's packets
 * (copied, or encoded from the decoded frames) as NUT on a pipe, and a recorder ffmpeg
 * per file part reads that pipe and writes the container, crash-safe (fragmented MP4,
 * Matroska flushed per packet), with metadata, one file or segments.
 */

export type ContainerName = 'mp4' | 'mkv' | 'webm';
export type RecordingModeName = 'copy' | 'encode';
export type QualityName = 'fast' | 'balanced' | 'small';

export const containerExtension: Record<ContainerName, string> = { mp4: 'mp4', mkv: 'mkv', webm: 'webm' };
const muxer: Record<ContainerName, string> = { mp4: 'mp4', mkv: 'matroska', webm: 'webm' };

/** Codecs each container holds when copied; `undefined` means any (Matroska). */
const holds: Record<ContainerName, { video?: readonly string[]; audio?: readonly string[] }> = {
  mp4: { video: ['h264', 'hevc', 'av1', 'vp9', 'mpeg4'], audio: ['aac', 'mp3', 'opus', 'ac3', 'eac3', 'alac', 'flac'] },
  mkv: {},
  webm: { video: ['vp8', 'vp9', 'av1'], audio: ['opus', 'vorbis'] },
};

/** Codecs that are not worth copying: raw pictures and raw PCM belong encoded in a recording. */
const raw = (codec: string) => codec === 'rawvideo' || codec.startsWith('pcm_');

export function containerHolds(container: ContainerName, media: 'video' | 'audio', codec: string): boolean {
  if (media === 'video' && raw(codec)) return false;
  const list = holds[container][media];
  return list === undefined || list.includes(codec);
}

/** The encoders a container gets in ENCODE mode. */
const encoders: Record<ContainerName, { video: string; audio: string; videoCodec: string; audioCodec: string }> = {
  mp4: { video: 'libx264', audio: 'aac', videoCodec: 'h264', audioCodec: 'aac' },
  mkv: { video: 'libx264', audio: 'libopus', videoCodec: 'h264', audioCodec: 'opus' },
  webm: { video: 'libvpx', audio: 'libopus', videoCodec: 'vp8', audioCodec: 'opus' },
};

const x264Presets: Record<QualityName, string[]> = {
  fast: ['-preset', 'ultrafast', '-crf', '26'],
  balanced: ['-preset', 'veryfast', '-crf', '23'],
  small: ['-preset', 'medium', '-crf', '21'],
};
const vpxPresets: Record<QualityName, string[]> = {
  fast: ['-deadline', 'realtime', '-cpu-used', '8', '-b:v', '3M'],
  balanced: ['-deadline', 'realtime', '-cpu-used', '5', '-b:v', '2M'],
  small: ['-deadline', 'good', '-cpu-used', '2', '-b:v', '1M'],
};

export interface SourceCodecs {
  /** The source's video codec, if it has video. */
  video?: string;
  /** The source's audio codec, if it has audio. */
  audio?: string;
  /** Frames per second of the video, for the keyframe interval; 0 when unknown. */
  frameRate: number;
}

/** How each medium of a recording is written. */
export interface RecordingPlan {
  container: ContainerName;
  mode: RecordingModeName;
  quality: QualityName;
  /** 'copy', an encoder, or absent (no such medium in the recording). */
  video?: { codec: string; copy: boolean };
  audio?: { codec: string; copy: boolean };
  /** Seconds between keyframes when encoding (segments cut there). */
  keyframeSeconds: number;
}

export function planRecording(
  source: SourceCodecs,
  request: { container: ContainerName; mode?: RecordingModeName; quality: QualityName; noAudio: boolean; segmentSeconds: number; segmentBytes?: number },
): RecordingPlan {
  const { container } = request;
  const audio = request.noAudio ? undefined : source.audio;
  if (!source.video && !audio) throw new MediaError('invalid-argument', request.noAudio ? 'no_audio leaves nothing to record: the source has no video' : 'the source has nothing to record');
  const videoFits = source.video === undefined || containerHolds(container, 'video', source.video);
  const mode = request.mode ?? (videoFits && (source.video !== undefined || (audio !== undefined && containerHolds(container, 'audio', audio))) ? 'copy' : 'encode');
  if (mode === 'copy' && !videoFits) {
    const why = raw(source.video!) ? 'raw frames are not copied into a recording' : `${container} cannot hold ${source.video} video`;
    throw new MediaError('invalid-argument', `mode copy: ${why}; use mode encode${raw(source.video!) ? '' : ' or container mkv'}`);
  }
  const encoder = encoders[container];
  const copyVideo = mode === 'copy';
  // In copy mode audio is copied when it fits and encoded (cheaply) when not.
  const copyAudio = audio !== undefined && mode === 'copy' && containerHolds(container, 'audio', audio);
  return {
    container,
    mode,
    quality: request.quality,
    ...(source.video !== undefined ? { video: { codec: copyVideo ? source.video : encoder.videoCodec, copy: copyVideo } } : {}),
    ...(audio !== undefined ? { audio: { codec: copyAudio ? audio : encoder.audioCodec, copy: copyAudio } } : {}),
    keyframeSeconds: keyframeInterval(request.segmentSeconds, request.segmentBytes ?? 0),
  };
}

/**
 * Seconds between the keyframes an encoding recording makes: 2, or less where segments
 * cut there. A segment by size ends at the first keyframe after it reached its size, so
 * it exceeds the size by less than one interval's bytes: a second, when segment_bytes is set.
 */
function keyframeInterval(segmentSeconds: number, segmentBytes: number): number {
  const interval = segmentBytes > 0 ? 1 : 2;
  return segmentSeconds > 0 ? Math.min(interval, segmentSeconds) : interval;
}

/**
 * The decoder's output for a recording: the packets as NUT (it holds any codec and
 * the timestamps as they are) on pipe `pipe`. `encodedVideoPad` is the filter graph
 * pad that carries the decoded pictures to encode.
 */
export function recordingOutputArgs(plan: RecordingPlan, streams: { video: string; audio: string }, pipe: number, encodedVideoPad: string, frameRate: number): string[] {
  const args: string[] = [];
  if (plan.video?.copy) args.push('-map', streams.video, '-c:v', 'copy');
  else if (plan.video) {
    const encoder = encoders[plan.container].video;
    const rate = frameRate > 0 ? frameRate : 30;
    args.push(
      '-map', `[${encodedVideoPad}]`,
      '-c:v', encoder,
      ...(encoder === 'libx264' ? [...x264Presets[plan.quality], '-tune', 'zerolatency'] : vpxPresets[plan.quality]),
      '-g', String(Math.max(1, Math.round(rate * plan.keyframeSeconds))),
      '-force_key_frames', `expr:gte(t,n_forced*${plan.keyframeSeconds})`,
    );
  }
  if (plan.audio?.copy) args.push('-map', streams.audio, '-c:a', 'copy');
  else if (plan.audio) args.push('-map', streams.audio, '-c:a', encoders[plan.container].audio, '-b:a', '128k');
  return [...args, '-fps_mode', 'passthrough', '-flush_packets', '1', '-f', 'nut', `pipe:${pipe}`];
}

/** The filter chain that prepares decoded pictures for the recording's encoder. */
export const recordingVideoChain = 'format=yuv420p';

export interface RecorderTarget {
  /** One file: its path. */
  path?: string;
  /** Segments: the pattern ffmpeg's segment muxer fills with the number (…-%05d.mp4). */
  segmentPattern?: string;
  segmentSeconds: number;
  /** The number of the first segment this part writes. */
  firstSegment: number;
}

const mp4Flags = '+frag_keyframe+empty_moov+default_base_moof+use_metadata_tags';

/**
 * The recorder: NUT on stdin → the container on disk. Timestamps start at zero on the
 * first packet (ffmpeg's default without -copyts). Fragmented MP4 (a fragment at each
 * keyframe and at least every second) and Matroska flushed per packet stay playable up
 * to the moment the recorder dies. `-n`: never overwrite a file.
 */
export function recorderArgs(plan: RecordingPlan, target: RecorderTarget, metadata: ReadonlyArray<[string, string]>): string[] {
  const tags = metadata.flatMap(([key, value]) => ['-metadata', `${key}=${value}`]);
  const containerOptions = plan.container === 'mp4' ? ['-movflags', mp4Flags, '-frag_duration', '1000000'] : ['-flush_packets', '1', '-cluster_time_limit', '1000'];
  const input = ['-hide_banner', '-nostdin', '-loglevel', 'level+warning', '-f', 'nut', '-i', 'pipe:0', '-map', '0', '-c', 'copy', ...tags];
  if (target.segmentPattern) {
    const formatOptions = plan.container === 'mp4' ? `movflags=${mp4Flags}:frag_duration=1000000` : 'flush_packets=1:cluster_time_limit=1000';
    return [
      ...input,
      '-f', 'segment',
      '-segment_format', muxer[plan.container],
      '-segment_format_options', formatOptions,
      '-segment_time', String(target.segmentSeconds),
      '-segment_start_number', String(target.firstSegment),
      '-reset_timestamps', '1',
      '-segment_list', 'pipe:1',
      '-segment_list_type', 'flat',
      '-n', target.segmentPattern,
    ];
  }
  if (!target.path) throw new Error('a recorder needs a path or a segment pattern');
  return [...input, ...containerOptions, '-f', muxer[plan.container], '-n', target.path];
}

/** "clip.mp4" → "clip-part2.mp4": the file a recording continues in after its decoder restarted. */
export function partPath(path: string, part: number): string {
  if (part <= 1) return path;
  const dot = path.lastIndexOf('.');
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return dot > slash ? `${path.slice(0, dot)}-part${part}${path.slice(dot)}` : `${path}-part${part}`;
}

/** A file name from a stream name and a start time: "Test pattern 1280x720@30" → "Test-pattern-1280x720-30-20261201T075000Z". */
export function recordingBaseName(streamName: string, startedAt: Date): string {
  const safe = streamName.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 80) || 'recording';
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${safe}-${stamp}`;
}

export function containerFromPath(path: string): ContainerName | undefined {
  const extension = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  return extension === 'mp4' || extension === 'mkv' || extension === 'webm' ? extension : undefined;
}
