import type { RtpPacket } from 'werift';
import { DepacketizeBase, JitterBufferBase } from 'werift/nonstandard';
import { h264IsKeyframe, h264NalType, annexBNalUnits, h264PictureSize, type PictureSize, vp8KeyframeSize } from './bitstream';
import type { VideoCodecName } from './containers';
import type { AudioFeedInput, VideoFeedInput } from './feedInputs';
import { TrackStats } from './stats';

/**
 * RTP → frames for one track: werift's jitter buffer puts packets in order (and gives
 * up on a packet after `latencyMs` of RTP time: NACKs had their chance by then), its
 * depacketizer assembles frames (a frame ends with the marker bit), and frames after a
 * packet lost for good are dropped until the next keyframe, which a PLI asks for.
 */

/** Extends 32-bit RTP timestamps past their wrap-around. */
export class TimestampUnwrapper {
  private last: number | undefined;
  private offset = 0;

  unwrap(timestamp: number): number {
    if (this.last !== undefined) {
      const delta = timestamp - this.last;
      if (delta < -(2 ** 31)) this.offset += 2 ** 32;
      else if (delta > 2 ** 31) this.offset -= 2 ** 32;
    }
    this.last = timestamp;
    return timestamp + this.offset;
  }
}

/** Maps a track's RTP time onto the wall clock: its first packet is when it arrived. */
export class MediaClock {
  private readonly unwrapper = new TimestampUnwrapper();
  private first: { rtp: number; atMs: number } | undefined;

  constructor(private readonly clockRate: number) {}

  /** In the track's clock units since the Unix epoch. */
  toEpochUnits(rtpTimestamp: number, nowMs: number): number {
    const rtp = this.unwrapper.unwrap(rtpTimestamp);
    this.first ??= { rtp, atMs: nowMs };
    return Math.round((this.first.atMs * this.clockRate) / 1000) + (rtp - this.first.rtp);
  }
}

export interface VideoTrackEvents {
  /** A packet was lost for good: the publisher should send a keyframe. */
  needKeyframe(reason: string): void;
  /** The picture size changed (or became known). */
  size(size: PictureSize): void;
  /** A keyframe arrived. */
  keyframe?(): void;
}

export class VideoTrackReceiver {
  readonly stats: TrackStats;
  private readonly jitter: JitterBufferBase;
  private readonly depacketizer: DepacketizeBase;
  private readonly clock = new MediaClock(90_000);
  private waitForKeyframe = true;
  private size: PictureSize | undefined;
  private parameterSets: Buffer | undefined;

  constructor(
    readonly codec: VideoCodecName,
    private readonly input: VideoFeedInput,
    private readonly events: VideoTrackEvents,
    latencyMs = 150,
    private readonly now: () => number = Date.now,
  ) {
    this.stats = new TrackStats(codec, 90_000);
    this.jitter = new JitterBufferBase(90_000, { latency: latencyMs });
    this.depacketizer = new DepacketizeBase(codec === 'h264' ? 'MPEG4/ISO/AVC' : 'VP8', { isFinalPacketInSequence: (header) => header.marker });
  }

  get pictureSize(): PictureSize | undefined {
    return this.size;
  }

  rtp(packet: RtpPacket): void {
    const at = this.now();
    this.stats.packet(packet.header.sequenceNumber, packet.header.timestamp, packet.payload.length, at);
    for (const out of this.jitter.processInput({ rtp: packet })) {
      if (out.isPacketLost) {
        this.waitForKeyframe = true;
        this.events.needKeyframe(`packets ${out.isPacketLost.from}–${out.isPacketLost.to} lost`);
      }
      if (!out.rtp) continue;
      for (const { frame } of this.depacketizer.processInput({ rtp: out.rtp })) {
        if (frame) this.frame(frame.data, frame.timestamp as number, at);
      }
    }
  }

  private frame(data: Buffer, rtpTimestamp: number, at: number): void {
    const pts = this.clock.toEpochUnits(rtpTimestamp, at);
    let keyframe: boolean;
    let size: PictureSize | undefined;
    if (this.codec === 'vp8') {
      size = vp8KeyframeSize(data);
      keyframe = size !== undefined;
    } else {
      keyframe = h264IsKeyframe(data);
      if (keyframe) {
        data = this.withParameterSets(data);
        size = h264PictureSize(data);
      }
    }
    if (this.waitForKeyframe && !keyframe) {
      this.stats.framesDropped++;
      return;
    }
    this.waitForKeyframe = false;
    this.stats.frame(keyframe, at);
    if (keyframe) this.events.keyframe?.();
    if (size && (size.width !== this.size?.width || size.height !== this.size?.height)) {
      this.size = size;
      this.input.size = size;
      this.events.size(size);
    }
    this.input.push(data, keyframe, pts);
  }

  /** An IDR without SPS/PPS in front gets the last ones seen (a decoder starting there needs them). */
  private withParameterSets(data: Buffer): Buffer {
    const nals = annexBNalUnits(data);
    const types = nals.map(h264NalType);
    if (types.includes(7) && types.includes(8)) {
      const sets = nals.filter((nal) => h264NalType(nal) === 7 || h264NalType(nal) === 8);
      this.parameterSets = Buffer.concat(sets.flatMap((nal) => [startCode, nal]));
      return data;
    }
    return this.parameterSets ? Buffer.concat([this.parameterSets, data]) : data;
  }
}

const startCode = Buffer.from([0, 0, 0, 1]);

export class AudioTrackReceiver {
  readonly stats: TrackStats;
  private readonly jitter: JitterBufferBase;
  private readonly clock = new MediaClock(48_000);

  constructor(
    private readonly input: AudioFeedInput,
    latencyMs = 100,
    private readonly now: () => number = Date.now,
  ) {
    this.stats = new TrackStats('opus', 48_000);
    this.jitter = new JitterBufferBase(48_000, { latency: latencyMs });
  }

  /** Whether a packet has arrived. */
  get started(): boolean {
    return this.stats.packetsReceived > 0;
  }

  rtp(packet: RtpPacket): void {
    const at = this.now();
    this.stats.packet(packet.header.sequenceNumber, packet.header.timestamp, packet.payload.length, at);
    for (const out of this.jitter.processInput({ rtp: packet })) {
      if (!out.rtp || out.rtp.payload.length === 0) continue;
      this.input.push(out.rtp.payload, this.clock.toEpochUnits(out.rtp.header.timestamp, at));
    }
  }
}
