import { randomBytes } from 'node:crypto';
import {
  type MediaStreamTrack,
  ReceiverEstimatedMaxBitrate,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RTCRtpTransceiver,
  RtcpPayloadSpecificFeedback,
  useNACK,
  usePLI,
  useREMB,
} from 'werift';
import type { ProbeResponse, WebrtcAnalytics } from '../../proto/gen/sidestream/v1/streams';
import { log } from '../log';
import type { FeedInput, MediaFeed } from '../media/feeds';
import { AudioFeedInput, VideoFeedInput } from './feedInputs';
import { checkOffer, chooseVideoCodec, type OfferedMedia, rewriteHostCandidates, type VideoCodec } from './sdp';
import { rembEstimate, rembExponentMantissa } from './stats';
import { AudioTrackReceiver, VideoTrackReceiver } from './tracks';
import { WhipError } from './whipError';


export interface SessionOptions {
  /** The feed's name: the stream `whip:<name>` decodes it. */
  name: string;
  offer: string;
  /** The address ICE binds to and advertises; "0.0.0.0" gathers every interface. */
  iceHost: string;
  /** The session ends after this long without an RTP packet (also before the first). */
  idleTimeoutMs: number;
}

const pliMinIntervalMs = 300;
/** A decoder still waiting for a keyframe this long after a PLI asks again. */
const pliRetryMs = 1000;
const tickMs = 250;
const rembEveryMs = 1000;
/** How long describe() waits for the first keyframe (or audio packet). */
const describeTimeoutMs = 10_000;
/**
 * From the offer to the first media packet: ICE checks and the DTLS handshake, whose
 * lost packets are resent after 1 s, then 2 s… A lossy link takes seconds, so the idle
 * timeout (seconds without media) starts counting at the first packet, and until then
 * the session has this long or the idle timeout, whichever is longer.
 */
const firstMediaTimeoutMs = 15_000;

/**
 * One WHIP publisher: a werift peer connection that only receives, its tracks turned
 * into ffmpeg inputs (feedInputs.ts), and the RTCP the receiver owes the publisher:
 * NACKs (werift's receiver sends them for video), PLIs when a decoder needs a
 * keyframe, and REMB so that the publisher's bandwidth estimate grows.
 */
export class WhipSession implements MediaFeed {
  readonly id = randomBytes(12).toString('base64url');
  readonly etag = `"${randomBytes(6).toString('hex')}"`;
  readonly connectedAtUs = Date.now() * 1000;
  readonly name: string;
  readonly videoCodec: VideoCodec | undefined;
  readonly audioCodec: 'opus' | undefined;
  readonly ended: Promise<string>;
  private endWith!: (reason: string) => void;
  private isOver = false;
  private readonly pc: RTCPeerConnection;
  private readonly videoInput: VideoFeedInput | undefined;
  private readonly audioInput: AudioFeedInput | undefined;
  private video: VideoTrackReceiver | undefined;
  private audio: AudioTrackReceiver | undefined;
  private videoTransceiver: RTCRtpTransceiver | undefined;
  private videoSsrc: number | undefined;
  private audioSsrc: number | undefined;
  private lastPliAt = 0;
  private pliTimer: NodeJS.Timeout | undefined;
  private lastRembAt = 0;
  private rembSent = 0;
  private readonly createdAt = Date.now();
  /** When the last RTP packet arrived; undefined before the first. */
  private lastPacketAt: number | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly described: Promise<void>;
  private markDescribed!: () => void;
  remoteAddress = '';

  private constructor(
    private readonly options: SessionOptions,
    media: OfferedMedia[],
  ) {
    this.name = options.name;
    this.ended = new Promise((resolve) => (this.endWith = resolve));
    this.described = new Promise((resolve) => (this.markDescribed = resolve));
    const videoMedia = media.find((m) => m.kind === 'video' && (m.direction === 'sendonly' || m.direction === 'sendrecv'));
    const audioMedia = media.find((m) => m.kind === 'audio' && (m.direction === 'sendonly' || m.direction === 'sendrecv'));
    this.videoCodec = chooseVideoCodec(videoMedia);
    this.audioCodec = audioMedia?.codecs.some((c) => c.name === 'opus') ? 'opus' : undefined;
    const named = (m: OfferedMedia) => [...new Set(m.codecs.map((c) => c.name).filter((name) => !['rtx', 'red', 'ulpfec', 'flexfec-03', 'cn', 'telephone-event'].includes(name)))].join(', ') || 'none';
    if (videoMedia && !this.videoCodec) {
      throw new WhipError(406, `the offer's video codecs (${named(videoMedia)}) are not taken: offer VP8 or H264 (packetization mode 0 or 1)`);
    }
    if (audioMedia && !this.audioCodec) throw new WhipError(406, `the offer's audio codecs (${named(audioMedia)}) are not taken: offer Opus`);
    if (!this.videoCodec && !this.audioCodec) {
      const offered = media.flatMap((m) => m.codecs.map((c) => `${m.kind} ${c.name}`)).filter((c) => !c.endsWith(' rtx'));
      throw new WhipError(
        406,
        `the offer sends nothing the sidecar takes: it takes VP8, H264 (packetization mode 0 or 1) and Opus; offered: ${[...new Set(offered)].join(', ') || 'nothing'}`,
      );
    }
    if (this.videoCodec) this.videoInput = new VideoFeedInput(this.videoCodec, (reason) => this.requestKeyframe(reason));
    if (this.audioCodec) this.audioInput = new AudioFeedInput(2);

    const feedback = [useNACK(), usePLI(), useREMB()];
    const loopback = options.iceHost.startsWith('127.') || options.iceHost === 'localhost';
    const anyInterface = options.iceHost === '0.0.0.0';
    this.pc = new RTCPeerConnection({
      codecs: {
        video: this.videoCodec
          ? [
              new RTCRtpCodecParameters({ mimeType: this.videoCodec === 'vp8' ? 'video/VP8' : 'video/H264', clockRate: 90_000, rtcpFeedback: feedback }),
              new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90_000 }),
            ]
          : [],
        audio: this.audioCodec ? [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2 })] : [],
      },
      headerExtensions: { video: [], audio: [] },
      ...(anyInterface ? {} : { iceInterfaceAddresses: { udp4: loopback ? '127.0.0.1' : options.iceHost } }),
      ...(loopback ? { iceAdditionalHostAddresses: ['127.0.0.1'] } : {}),
      iceUseIpv6: false,
    });
    this.pc.onRemoteTransceiverAdded.subscribe((transceiver) => this.onTransceiver(transceiver));
    this.pc.iceConnectionStateChange.subscribe((state) => {
      log.debug(`whip ${this.name}: ICE ${state}`);
      if (state === 'failed' || state === 'closed') this.end(`the publisher's connection ${state}`);
      if (state === 'connected') this.readRemoteAddress();
    });
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  /** Answers an offer: the session and the SDP answer (with every candidate gathered: WHIP without trickle). */
  static async create(options: SessionOptions): Promise<{ session: WhipSession; answer: string }> {
    const check = checkOffer(options.offer);
    if (!check.ok) throw new WhipError(400, `malformed SDP offer: ${check.reason}`);
    const session = new WhipSession(options, check.media);
    try {
      await session.pc.setRemoteDescription({ type: 'offer', sdp: options.offer });
      const answer = await session.pc.createAnswer();
      await session.pc.setLocalDescription(answer);
      await session.gathered();
      const sdp = session.pc.localDescription?.sdp;
      if (!sdp) throw new Error('werift made no answer');
      const host = options.iceHost === '0.0.0.0' ? undefined : options.iceHost === 'localhost' ? '127.0.0.1' : options.iceHost;
      return { session, answer: host ? rewriteHostCandidates(sdp, host) : sdp };
    } catch (error) {
      session.end('the offer could not be answered');
      if (error instanceof WhipError) throw error;
      throw new WhipError(400, `cannot answer the SDP offer: ${(error as Error).message}`);
    }
  }

  private gathered(): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 3000);
      this.pc.iceGatheringStateChange.subscribe((state) => {
        if (state === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  private onTransceiver(transceiver: RTCRtpTransceiver): void {
    transceiver.onTrack.subscribe((track: MediaStreamTrack) => {
      if (track.kind === 'video' && this.videoInput && !this.video) {
        this.videoTransceiver = transceiver;
        this.video = new VideoTrackReceiver(this.videoInput.codec, this.videoInput, {
          needKeyframe: (reason) => this.requestKeyframe(reason),
          size: (size) => {
            log.info(`whip ${this.name}: video ${size.width}x${size.height}`);
            this.markDescribed();
          },
          keyframe: () => log.trace(`whip ${this.name}: keyframe`),
        });
        transceiver.receiver.onPacketLost.subscribe(() => {
          if (this.video) this.video.stats.nacksSent++;
        });
        track.onReceiveRtp.subscribe((rtp) => {
          this.videoSsrc = rtp.header.ssrc;
          this.lastPacketAt = Date.now();
          this.video?.rtp(rtp);
        });
      } else if (track.kind === 'audio' && this.audioInput && !this.audio) {
        this.audio = new AudioTrackReceiver(this.audioInput);
        track.onReceiveRtp.subscribe((rtp) => {
          this.audioSsrc = rtp.header.ssrc;
          this.lastPacketAt = Date.now();
          this.audio?.rtp(rtp);
          if (!this.videoInput) this.markDescribed();
        });
      }
    });
  }

  private readRemoteAddress(): void {
    try {
      const pair = this.pc.iceTransports[0]?.connection.nominated;
      const remote = pair?.remoteCandidate;
      if (remote) this.remoteAddress = `${remote.host}:${remote.port}`;
    } catch {
      // Only for display.
    }
  }

  /**
   * Asks the publisher for a keyframe (PLI), at most every 300 ms. Frames keep flowing
   * meanwhile: a decoder that starts waits for the keyframe by itself (feedInputs.ts),
   * and after a packet lost for good the track drops frames until it (tracks.ts).
   */
  requestKeyframe(reason: string): void {
    const now = Date.now();
    if (this.isOver || !this.videoTransceiver || this.videoSsrc === undefined) return;
    if (now - this.lastPliAt < pliMinIntervalMs) {
      // Not dropped: sent once the interval has passed (a decoder that starts just after another needs its own keyframe).
      this.pliTimer ??= setTimeout(() => {
        this.pliTimer = undefined;
        this.requestKeyframe(reason);
      }, pliMinIntervalMs - (now - this.lastPliAt));
      return;
    }
    this.lastPliAt = now;
    if (this.video) this.video.stats.plisSent++;
    log.debug(`whip ${this.name}: PLI (${reason})`);
    void this.videoTransceiver.receiver.sendRtcpPLI(this.videoSsrc).catch(() => undefined);
  }

  private tick(): void {
    const now = Date.now();
    if (this.lastPacketAt === undefined) {
      const allowedMs = Math.max(firstMediaTimeoutMs, this.options.idleTimeoutMs);
      if (now - this.createdAt > allowedMs) {
        this.end(`no media from the publisher within ${(allowedMs / 1000).toFixed(1)} s of its offer (ICE ${this.pc.iceConnectionState})`);
        return;
      }
    } else if (now - this.lastPacketAt > this.options.idleTimeoutMs) {
      this.end(`no media from the publisher for ${(this.options.idleTimeoutMs / 1000).toFixed(1)} s`);
      return;
    }
    if (this.videoInput?.waitingForKeyframe && now - this.lastPliAt > pliRetryMs) this.requestKeyframe('a decoder still waits for a keyframe');
    if (now - this.lastRembAt >= rembEveryMs) {
      this.lastRembAt = now;
      this.sendRemb(now);
    }
  }

  private sendRemb(now: number): void {
    const transceiver = this.videoTransceiver;
    const ssrcs = [this.videoSsrc, this.audioSsrc].filter((s): s is number => s !== undefined);
    if (!transceiver || ssrcs.length === 0) return;
    const received = (this.video?.stats.bitRate(now) ?? 0) + (this.audio?.stats.bitRate(now) ?? 0);
    const estimate = rembEstimate(received);
    const { exponent, mantissa } = rembExponentMantissa(estimate);
    const remb = new ReceiverEstimatedMaxBitrate({
      senderSsrc: transceiver.receiver.rtcpSsrc,
      mediaSsrc: 0,
      ssrcNum: ssrcs.length,
      brExp: exponent,
      brMantissa: mantissa,
      ssrcFeedbacks: ssrcs,
    });
    this.rembSent = mantissa * 2 ** exponent;
    void transceiver.receiver.dtlsTransport?.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })]).catch(() => undefined);
  }

  // ---- MediaFeed -----------------------------------------------------------

  async describe(): Promise<ProbeResponse> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), describeTimeoutMs)));
    const result = await Promise.race([this.described.then(() => 'ok' as const), timeout, this.ended.then(() => 'ended' as const)]);
    clearTimeout(timer);
    if (result === 'timeout') throw new Error(`the WHIP publisher "${this.name}" sent no ${this.videoInput ? 'keyframe' : 'audio'} within ${describeTimeoutMs / 1000} s`);
    if (result === 'ended') throw new Error(`the WHIP publisher "${this.name}" left`);
    const streams: ProbeResponse['streams'] = [];
    const size = this.video?.pictureSize;
    if (this.videoCodec && size) {
      streams.push({
        index: streams.length, type: 'video', codec: this.videoCodec, profile: '', width: size.width, height: size.height,
        frameRate: this.video?.stats.frameRate(Date.now()) ?? 0, pixelFormat: 'yuv420p', sampleRate: 0, channels: 0, bitRate: 0,
      });
    }
    if (this.audioCodec) {
      streams.push({ index: streams.length, type: 'audio', codec: 'opus', profile: '', width: 0, height: 0, frameRate: 0, pixelFormat: '', sampleRate: 48_000, channels: 2, bitRate: 0 });
    }
    return { container: this.videoCodec ? 'ivf' : 'ogg', durationSeconds: 0, bitRate: 0, streams, live: true };
  }

  inputs(): FeedInput[] {
    return [this.videoInput, this.audioInput].filter((input): input is VideoFeedInput | AudioFeedInput => input !== undefined);
  }

  stats(): WebrtcAnalytics {
    const now = Date.now();
    return {
      sessionId: this.id,
      iceState: this.pc.iceConnectionState,
      ...(this.video ? { video: this.video.stats.figures(now) } : {}),
      ...(this.audio ? { audio: this.audio.stats.figures(now) } : {}),
      rembBitRate: this.rembSent,
      lastPacketAgeMs: now - (this.lastPacketAt ?? this.createdAt),
    };
  }

  get over(): boolean {
    return this.isOver;
  }

  /** Ends the session: the feed ends (its streams go to ended) and the peer connection closes. */
  end(reason: string): void {
    if (this.isOver) return;
    this.isOver = true;
    clearInterval(this.timer);
    if (this.pliTimer) clearTimeout(this.pliTimer);
    log.info(`whip ${this.name}: session ${this.id} ended: ${reason}`);
    this.videoInput?.end();
    this.audioInput?.end();
    this.endWith(reason);
    void this.pc.close().catch(() => undefined);
  }
}
