import type { RtpTrackAnalytics } from '../../proto/gen/sidestream/v1/streams';

/**
 * Receive figures of one RTP track, computed from the packets as they arrive (RFC 3550
 * A.3 loss and A.8 jitter), plus what the session did about them (NACKs, PLIs) and the
 * frames it assembled. Times are milliseconds on any steady clock the caller gives.
 */
export class TrackStats {
  private packets = 0;
  private retransmitted = 0;
  private baseSeq: number | undefined;
  /** The highest sequence number seen, extended past 16-bit wrap-arounds. */
  private maxExtended = 0;
  private jitter = 0;
  private lastTransit: number | undefined;
  private readonly bytes: Array<{ at: number; bytes: number }> = [];
  private readonly frames: number[] = [];
  private readonly keyframeTimes: number[] = [];
  private keyframeCount = 0;
  nacksSent = 0;
  plisSent = 0;
  framesDropped = 0;
  lastPacketAt: number | undefined;

  constructor(
    readonly codec: string,
    private readonly clockRate: number,
    private readonly windowMs = 1000,
  ) {}

  /** One packet: its sequence number, RTP timestamp and payload size, arriving at `atMs`. */
  packet(sequenceNumber: number, rtpTimestamp: number, payloadBytes: number, atMs: number): void {
    this.packets++;
    this.lastPacketAt = atMs;
    if (this.baseSeq === undefined) {
      this.baseSeq = sequenceNumber;
      this.maxExtended = sequenceNumber;
    } else {
      const cycle = this.maxExtended - (this.maxExtended & 0xffff);
      // The candidate nearest to the highest seen: this cycle, the next or the previous.
      let extended = cycle + sequenceNumber;
      if (extended - this.maxExtended > 0x8000) extended -= 0x10000;
      else if (this.maxExtended - extended > 0x8000) extended += 0x10000;
      if (extended > this.maxExtended) this.maxExtended = extended;
      else this.retransmitted++;
    }
    // Jitter from the transit time's variation, in RTP units (retransmissions skew it; RFC 3550 counts them too).
    const transit = (atMs * this.clockRate) / 1000 - rtpTimestamp;
    if (this.lastTransit !== undefined) {
      let d = Math.abs(transit - this.lastTransit);
      // An RTP timestamp wrap (2^32) is not jitter.
      if (d > 2 ** 31) d = Math.abs(d - 2 ** 32);
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
    this.bytes.push({ at: atMs, bytes: payloadBytes });
    this.prune(atMs);
  }

  /** A frame was assembled (video); a keyframe also counts for the keyframe interval. */
  frame(keyframe: boolean, atMs: number): void {
    this.frames.push(atMs);
    if (keyframe) {
      this.keyframeCount++;
      this.keyframeTimes.push(atMs);
      if (this.keyframeTimes.length > 8) this.keyframeTimes.shift();
    }
    this.prune(atMs);
  }

  private prune(atMs: number): void {
    const from = atMs - this.windowMs;
    while (this.bytes.length > 0 && this.bytes[0]!.at <= from) this.bytes.shift();
    while (this.frames.length > 0 && this.frames[0]! <= from) this.frames.shift();
  }

  get packetsReceived(): number {
    return this.packets;
  }

  /** Expected minus received (RFC 3550 A.3): retransmitted packets fill their gaps; duplicates can make it negative. */
  get packetsLost(): number {
    if (this.baseSeq === undefined) return 0;
    const expected = this.maxExtended - this.baseSeq + 1;
    return expected - this.packets;
  }

  /** Bits per second over the window ending at `atMs`. */
  bitRate(atMs: number): number {
    this.prune(atMs);
    return (this.bytes.reduce((sum, b) => sum + b.bytes, 0) * 8 * 1000) / this.windowMs;
  }

  frameRate(atMs: number): number {
    this.prune(atMs);
    return (this.frames.length * 1000) / this.windowMs;
  }

  get keyframeIntervalMs(): number {
    const times = this.keyframeTimes;
    return times.length < 2 ? 0 : (times[times.length - 1]! - times[0]!) / (times.length - 1);
  }

  figures(atMs: number): RtpTrackAnalytics {
    return {
      codec: this.codec,
      packetsReceived: this.packets,
      packetsLost: this.packetsLost,
      jitterMs: (this.jitter / this.clockRate) * 1000,
      nacksSent: this.nacksSent,
      plisSent: this.plisSent,
      bitRate: this.bitRate(atMs),
      frameRate: this.frameRate(atMs),
      keyframes: this.keyframeCount,
      keyframeIntervalMs: this.keyframeIntervalMs,
      framesDropped: this.framesDropped,
      packetsRetransmitted: this.retransmitted,
    };
  }
}

/** REMB's bit rate as an 6-bit exponent and 18-bit mantissa (draft-alvestrand-rmcat-remb §2.2). */
export function rembExponentMantissa(bitsPerSecond: number): { exponent: number; mantissa: number } {
  let exponent = 0;
  let mantissa = Math.max(0, Math.floor(bitsPerSecond));
  while (mantissa >= 1 << 18) {
    mantissa = Math.floor(mantissa / 2);
    exponent++;
  }
  return { exponent, mantissa };
}

/**
 * The receiver's estimate to send: twice what arrives, at least `floor` and at most
 * `ceiling`. On loopback or a LAN the link is rarely the limit; without any estimate
 * Chromium stays near its 300 kbps start and sends fewer frames.
 */
export function rembEstimate(receivedBitsPerSecond: number, floor = 2_500_000, ceiling = 10_000_000): number {
  return Math.min(ceiling, Math.max(floor, 2 * receivedBitsPerSecond));
}
