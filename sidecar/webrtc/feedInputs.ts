import { PassThrough, type Readable } from 'node:stream';
import type { FeedInput } from '../media/feeds';
import { ivfFrame, ivfHeader, OggOpusWriter, type VideoCodecName } from './containers';

/**
 * A WHIP session's tracks as ffmpeg inputs: each decoder run opens a fresh stream
 * (container header first) that the track writes its frames into. Writing never
 * blocks the media path: a decoder that falls behind by more than `maxBufferedBytes`
 * loses frames instead (video then waits for the next keyframe, and asks for one).
 */

const maxBufferedBytes = 8 * 1024 * 1024;

interface VideoOutput {
  stream: PassThrough;
  /** Whether it had its keyframe: until then it gets no frames. */
  started: boolean;
}

export class VideoFeedInput implements FeedInput {
  readonly media = 'video' as const;
  readonly demuxerArgs: string[];
  private readonly outputs = new Set<VideoOutput>();
  size = { width: 0, height: 0 };

  constructor(
    readonly codec: VideoCodecName,
    /** Asks the publisher for a keyframe (a PLI), with why. */
    private readonly requestKeyframe: (reason: string) => void,
  ) {
    // The IVF demuxer needs no probing beyond its header and the first frame.
    this.demuxerArgs = ['-probesize', '32', '-analyzeduration', '0', '-fpsprobesize', '0', '-f', 'ivf'];
  }

  get openCount(): number {
    return this.outputs.size;
  }

  open(): Readable {
    const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
    const output: VideoOutput = { stream, started: false };
    stream.write(ivfHeader(this.codec, this.size.width, this.size.height));
    this.outputs.add(output);
    stream.once('close', () => this.outputs.delete(output));
    // A decoder starts at a keyframe: ask for one now rather than wait for the next.
    this.requestKeyframe('a decoder started');
    return stream;
  }

  /** One assembled frame with its pts in 1/90000 s. */
  push(frame: Buffer, keyframe: boolean, pts90k: number): void {
    let packet: Buffer | undefined;
    for (const output of this.outputs) {
      if (output.stream.destroyed || output.stream.writableEnded) continue;
      if (!output.started) {
        if (!keyframe) continue;
        output.started = true;
      }
      if (output.stream.writableLength > maxBufferedBytes) {
        output.started = false;
        this.requestKeyframe('the decoder fell behind');
        continue;
      }
      packet ??= ivfFrame(frame, pts90k);
      output.stream.write(packet);
    }
  }

  /** Whether some decoder waits for a keyframe. */
  get waitingForKeyframe(): boolean {
    for (const output of this.outputs) if (!output.started) return true;
    return false;
  }

  end(): void {
    for (const output of this.outputs) output.stream.end();
  }
}

export class AudioFeedInput implements FeedInput {
  readonly media = 'audio' as const;
  readonly demuxerArgs = ['-probesize', '32', '-analyzeduration', '0', '-f', 'ogg'];
  private readonly outputs = new Map<PassThrough, OggOpusWriter>();
  private serial = 0x5157_0001;

  constructor(readonly channels = 2) {}

  open(): Readable {
    const stream = new PassThrough({ highWaterMark: 256 * 1024 });
    const writer = new OggOpusWriter(this.serial++, this.channels);
    stream.write(writer.headers());
    this.outputs.set(stream, writer);
    stream.once('close', () => this.outputs.delete(stream));
    return stream;
  }

  /** One Opus packet whose first sample is at `startSample` (48 kHz). */
  push(packet: Buffer, startSample: number): void {
    for (const [stream, writer] of this.outputs) {
      if (stream.destroyed || stream.writableEnded || stream.writableLength > maxBufferedBytes) continue;
      stream.write(writer.packet(packet, startSample));
    }
  }

  end(): void {
    for (const stream of this.outputs.keys()) stream.end();
  }
}
