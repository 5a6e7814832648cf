import { EventEmitter } from 'node:events';
import type { ProbeResponse, WebrtcAnalytics } from '../../proto/gen/sidestream/v1/streams';
import { log } from '../log';
import { AudioLevels, type ChannelLevelFigures, LatencyWindow, RateWindow } from './analytics';
import { Decoder, type DecoderAudio, type DecoderExit, type DecoderFrame, nowUs } from './decoder';
import type { FeedRegistry, MediaFeed } from './feeds';
import { buildDecodeArgs, type ResolvedAudioOutput, type ResolvedOutput, resolveAudioOutput, resolveOutputSize } from './ffmpegArgs';
import { sharedRelease } from '../bufferPool';
import { describeMicSource, probeSource } from './probe';
import type { ProbeCache } from './probeCache';
import type { QueueOptions } from './queue';
import type { Recording } from './recorder';
import { type AudioSubscriber, audioKind, Subscriber, type VideoSubscriber, videoKind } from './subscriber';
import {
  type AudioOutputSpec,
  audioOutputKey,
  type DecodedAudio,
  type DecodedFrame,
  MediaError,
  type OutputSpec,
  outputKey,
  type Platform,
  type SourceSpec,
  type StreamStateName,
} from './types';

type AnySubscriber = VideoSubscriber | AudioSubscriber;

export interface AudioFigures {
  channels: ChannelLevelFigures[];
  clippedSamples: number;
  droppedFrames: number;
  avOffsetMs: number;
  sampleRate: number;
}

export interface ReconnectPolicy {
  enabled: boolean;
  initialDelayMs: number;
  maxDelayMs: number;
  /** 0 = never give up. */
  maxAttempts: number;
}

export interface StreamConfig {
  id: string;
  name: string;
  spec: SourceSpec;
  hwaccel: string;
  reconnect: ReconnectPolicy;
  watchdogMs: number;
  idleTimeoutMs: number;
}

export interface StreamTools {
  ffmpeg(): string;
  ffprobe(): string;
  platform: Platform;
  /** Where `feed` sources (e.g. whip:<name>) find their media. */
  feeds: FeedRegistry;
  /** ffprobe's answers for unchanged local files, shared with the Probe call. */
  probes?: ProbeCache;
}

export interface StreamSnapshot {
  id: string;
  name: string;
  uri: string;
  state: StreamStateName;
  reason: string;
  source: ProbeResponse | undefined;
  decoder: string;
  subscribers: number;
  openedAtUs: number;
}

export interface StreamFigures {
  inputFps: number;
  deliveredFps: number;
  droppedByDecoder: number;
  droppedByNetwork: number;
  droppedByPolicy: number;
  decodeLagMs: number;
  inputBitRate: number;
  bytesDelivered: number;
  reconnects: number;
  latency: { p50Ms: number; p95Ms: number; maxMs: number };
  subscribers: ReturnType<VideoSubscriber['figures']>[];
  windowMs: number;
  audio?: AudioFigures;
  /** For a WHIP publisher's stream: the WebRTC session's receive figures. */
  webrtc?: WebrtcAnalytics;
}

/** Lines of ffmpeg's stderr worth keeping in a failure reason. */
const reasonLines = 4;
const rateWindowMs = 1000;
const latencyWindowMs = 5000;

/** How a frame's capture time is known. */
type CaptureClock = 'wallclock-pts' | 'paced' | 'none';

/**
 * One open source: decoded by at most one ffmpeg at a time, whatever the number of
 * subscribers; each distinct output (format × size) is produced once and shared.
 * Owns the stream's state machine (idle → starting → live ⇄ stalled; reconnecting
 * with backoff; ended; failed), the watchdog and the idle timeout.
 *
 * When the set of outputs changes, ffmpeg is restarted with the new set: a live
 * source resumes at the live edge, a file where it was (frames already delivered are
 * not delivered twice).
 */
export class MediaStream extends EventEmitter {
  private stateValue: StreamStateName = 'idle';
  private reasonValue = '';
  private decoderLabel = '';
  private probe: ProbeResponse | undefined;
  private readonly videoSubscribers = new Set<VideoSubscriber>();
  private readonly audioSubscribers = new Set<AudioSubscriber>();
  private decoder: Decoder | undefined;
  private outputs: ResolvedOutput[] = [];
  private audioOutputs: ResolvedAudioOutput[] = [];
  private subscribersByOutput: VideoSubscriber[][] = [];
  private subscribersByAudioOutput: AudioSubscriber[][] = [];
  private outputCounts: number[] = [];
  private audioOutputCounts: number[] = [];
  private sequenceBase = 0;
  private nextSequence = 0;
  private audioSequenceBase = 0;
  private nextAudioSequence = 0;
  private firstAudioPtsUs: number | undefined;
  private audioCaptureClock: CaptureClock = 'none';
  private readonly audioLevels = new AudioLevels(rateWindowMs);
  /** The latest frame of each kind at the decoder: pts and when it came out, for the A/V offset. */
  private lastVideoAt: { ptsUs: number; atUs: number } | undefined;
  private lastAudioAt: { ptsUs: number; atUs: number } | undefined;
  private audioPolicyDropsOfGone = 0;
  /** Recordings of this stream, in the order of their decoder outputs. */
  private recordings: Recording[] = [];
  /** The recordings the running decoder writes (its outputs are fixed when it starts). */
  private decoderRecordings: Recording[] = [];
  /** For files: the pts of the last frame out of the decoder, to continue there after a restart. */
  private lastPtsUs = -1;
  private firstPtsUs: number | undefined;
  private previousPtsUs: number | undefined;
  private captureClock: CaptureClock = 'none';
  private transcodeStartUs = 0;
  private lastFrameAtUs = 0;
  private lastCapturedAtUs = 0;
  private decoderStartedAtUs = 0;
  private hwaccel: string;
  private hwaccelNote = '';
  private hwaccelFellBack = false;
  private attempts = 0;
  private reconnectCount = 0;
  private closed = false;
  private generation = 0;
  private reconcileScheduled = false;
  private reconcileRunning = false;
  private reconcileAgain = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private readonly inputRate = new RateWindow(rateWindowMs);
  private readonly inputBytes = new RateWindow(rateWindowMs);
  private lastInputPosition = -1;
  private readonly latency = new LatencyWindow(latencyWindowMs);
  private droppedByNetwork = 0;
  private droppedByDecoder = 0;
  private policyDropsOfGone = 0;
  private bytesDeliveredOfGone = 0;
  private nextSubscriberId = 1;
  readonly openedAtUs = nowUs();

  constructor(
    readonly config: StreamConfig,
    private readonly tools: StreamTools,
  ) {
    super();
    this.hwaccel = config.hwaccel;
  }

  get id(): string {
    return this.config.id;
  }

  get state(): StreamStateName {
    return this.stateValue;
  }

  /** Whether the source runs in real time: a network source with a duration (HLS VOD) does not. */
  get live(): boolean {
    return this.probe?.live ?? this.config.spec.live;
  }

  /** Whether `live` is known for sure: only a probe tells whether a network source ends. */
  get liveKnown(): boolean {
    return this.probe !== undefined || this.config.spec.kind !== 'network';
  }

  /** Probes a network source (once) to learn whether it is live; an unreachable one counts as live. */
  async resolveLive(): Promise<boolean> {
    if (!this.liveKnown) await this.sourceInfo().catch(() => undefined);
    return this.live;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The pid of the running ffmpeg, if any (tests check that it goes away). */
  get decoderPid(): number | undefined {
    return this.decoder?.pid;
  }

  snapshot(): StreamSnapshot {
    return {
      id: this.config.id,
      name: this.config.name,
      uri: this.config.spec.uri,
      state: this.stateValue,
      reason: this.reasonValue,
      source: this.probe,
      decoder: this.decoderLabel,
      subscribers: this.subscriberCount,
      openedAtUs: this.openedAtUs,
    };
  }

  /** Probes the source now, so that a missing or broken file fails the open with a clear error. */
  async prepare(): Promise<void> {
    await this.sourceInfo();
  }

  /** Everything that keeps the decoder running: subscribers and recordings. */
  private get subscriberCount(): number {
    return this.videoSubscribers.size + this.audioSubscribers.size + this.recordings.filter((recording) => !recording.finished).length;
  }

  /** The source as probed (undefined until it is). */
  async sourceDescription(): Promise<ProbeResponse> {
    return this.sourceInfo();
  }

  /** Starts writing this stream into `recording`; the decoder restarts with its output. */
  startRecording(recording: Recording): void {
    this.checkSubscribable(recording.plan.video ? 'video' : 'audio');
    this.recordings.push(recording);
    recording.countDropsWith(() => ({ byDecoder: this.droppedByDecoder, byNetwork: this.droppedByNetwork }));
    recording.once('finished', () => {
      const index = this.recordings.indexOf(recording);
      if (index < 0) return;
      this.recordings.splice(index, 1);
      this.scheduleReconcile();
      this.emitState();
    });
    this.startSubscription();
  }

  private get everySubscriber(): AnySubscriber[] {
    return [...this.videoSubscribers, ...this.audioSubscribers];
  }

  private checkSubscribable(media: 'video' | 'audio'): void {
    if (this.closed) throw new MediaError('not-found', `stream "${this.id}" is closed`);
    if (this.stateValue === 'failed') {
      throw new MediaError('failed-precondition', `stream "${this.id}" failed: ${this.reasonValue}; close it and open it again`);
    }
    if (this.probe && !this.probe.streams.some((s) => s.type === media)) throw noStreamError(this.config.spec.uri, media, this.probe);
  }

  subscribe(output: OutputSpec, queue: QueueOptions): VideoSubscriber {
    this.checkSubscribable('video');
    const subscriber: VideoSubscriber = new Subscriber(`${this.id}#${this.nextSubscriberId++}`, videoKind, output, queue, this.live);
    this.videoSubscribers.add(subscriber);
    this.startSubscription();
    return subscriber;
  }

  subscribeAudio(output: AudioOutputSpec, queue: QueueOptions): AudioSubscriber {
    this.checkSubscribable('audio');
    const subscriber: AudioSubscriber = new Subscriber(`${this.id}#${this.nextSubscriberId++}`, audioKind, output, queue, this.live);
    this.audioSubscribers.add(subscriber);
    this.startSubscription();
    return subscriber;
  }

  private startSubscription(): void {
    this.clearIdleTimer();
    if (this.stateValue === 'ended') {
      // A new subscriber to a finished file starts it again from the beginning.
      this.lastPtsUs = -1;
      this.setState('idle', '');
    }
    this.scheduleReconcile();
    this.emitState();
  }

  unsubscribe(subscriber: AnySubscriber): void {
    const removed = subscriber.kind.name === 'audio' ? this.audioSubscribers.delete(subscriber as AudioSubscriber) : this.videoSubscribers.delete(subscriber as VideoSubscriber);
    if (!removed) return;
    if (subscriber.kind.name === 'audio') this.audioPolicyDropsOfGone += subscriber.queue.totalPolicyDrops;
    else this.policyDropsOfGone += subscriber.queue.totalPolicyDrops;
    this.bytesDeliveredOfGone += subscriber.bytesDelivered;
    subscriber.end();
    if (this.subscriberCount === 0) {
      this.clearIdleTimer();
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        if (this.subscriberCount === 0) void this.stopDecoder().then(() => this.goIdle());
      }, this.config.idleTimeoutMs);
    } else {
      this.scheduleReconcile();
    }
    this.emitState();
    this.updateBackPressure();
  }

  /** Pauses the decoder's pipes while a `wait` subscriber of a file is full; resumes them when none is. */
  updateBackPressure(): void {
    if (!this.decoder) return;
    if (this.anyHoldsDecoder()) this.decoder.pause();
    else this.decoder.resume();
  }

  /** Whether a `wait` subscriber is full. Runs for every frame: no allocation. */
  private anyHoldsDecoder(): boolean {
    for (const subscriber of this.videoSubscribers) if (subscriber.holdsDecoder) return true;
    for (const subscriber of this.audioSubscribers) if (subscriber.holdsDecoder) return true;
    return false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearIdleTimer();
    this.clearRetryTimer();
    await this.stopDecoder();
    await this.finishRecordings('stop', 'the stream was closed');
    for (const subscriber of this.everySubscriber) subscriber.end();
    this.videoSubscribers.clear();
    this.audioSubscribers.clear();
    this.setState('ended', 'closed');
    this.emit('closed');
  }

  figures(): StreamFigures {
    const at = nowUs();
    const subscribers = this.everySubscriber.map((s) => s.figures(at));
    // everySubscriber lists the video subscribers first.
    const video = subscribers.slice(0, this.videoSubscribers.size);
    return {
      inputFps: this.inputRate.perSecond(at),
      deliveredFps: video.reduce((sum, s) => sum + s.deliveredFps, 0),
      droppedByDecoder: this.droppedByDecoder,
      droppedByNetwork: this.droppedByNetwork,
      droppedByPolicy: this.policyDropsOfGone + video.reduce((sum, s) => sum + s.droppedByPolicy, 0),
      decodeLagMs: this.lastCapturedAtUs > 0 ? Math.max(0, (this.lastFrameAtUs - this.lastCapturedAtUs) / 1000) : 0,
      inputBitRate: this.inputBitRate(at),
      bytesDelivered: this.bytesDeliveredOfGone + subscribers.reduce((sum, s) => sum + s.bytesDelivered, 0),
      reconnects: this.reconnectCount,
      latency: this.latency.summary(at),
      subscribers,
      windowMs: rateWindowMs,
      ...(this.probe?.streams.some((s) => s.type === 'audio') ? { audio: this.audioFigures(at) } : {}),
      ...(this.watchedFeed?.stats && this.config.spec.kind === 'feed' ? { webrtc: this.watchedFeed.stats() } : {}),
    };
  }

  private audioFigures(at: number): AudioFigures {
    const source = this.probe?.streams.find((s) => s.type === 'audio');
    let avOffsetMs = 0;
    if (this.lastAudioAt && this.lastVideoAt && this.decoder) {
      // How far the audio's timeline is ahead of the video's at the decoder's output.
      avOffsetMs = (this.lastAudioAt.ptsUs - this.lastVideoAt.ptsUs - (this.lastAudioAt.atUs - this.lastVideoAt.atUs)) / 1000;
    }
    return {
      channels: this.audioLevels.levels(at),
      clippedSamples: this.audioLevels.clippedSamples,
      droppedFrames: this.audioPolicyDropsOfGone + [...this.audioSubscribers].reduce((sum, s) => sum + s.queue.totalPolicyDrops, 0),
      avOffsetMs,
      sampleRate: this.audioOutputs[0]?.sampleRate ?? source?.sampleRate ?? 0,
    };
  }

  private inputBitRate(at: number): number {
    const fromPositions = this.inputBytes.bytesPerSecond(at) * 8;
    if (fromPositions > 0) return fromPositions;
    // Demuxers that report no byte positions (lavfi, RTSP): the nominal rate while frames flow.
    return this.inputRate.perSecond(at) > 0 ? (this.probe?.bitRate ?? 0) : 0;
  }

  // ---- decoder lifecycle -------------------------------------------------

  private scheduleReconcile(): void {
    if (this.reconcileRunning) {
      this.reconcileAgain = true;
      return;
    }
    if (this.reconcileScheduled) return;
    this.reconcileScheduled = true;
    setImmediate(() => {
      this.reconcileScheduled = false;
      void this.runReconcile();
    });
  }

  /** One reconcile at a time; changes that arrive meanwhile are handled by another pass. */
  private async runReconcile(): Promise<void> {
    if (this.reconcileRunning) {
      this.reconcileAgain = true;
      return;
    }
    this.reconcileRunning = true;
    try {
      do {
        this.reconcileAgain = false;
        await this.reconcile();
      } while (this.reconcileAgain && !this.closed);
    } finally {
      this.reconcileRunning = false;
    }
  }

  /** Makes the running decoder produce exactly the outputs the subscribers need. */
  private async reconcile(): Promise<void> {
    if (this.closed || this.retryTimer || this.subscriberCount === 0) return;
    if (!this.decoder && (this.stateValue === 'idle' || this.stateValue === 'ended')) this.setState('starting', '');
    let source: ProbeResponse;
    try {
      source = await this.sourceInfo();
    } catch (error) {
      this.onStartFailure(error instanceof MediaError ? error : new MediaError('internal', (error as Error).message));
      return;
    }
    if (this.closed || this.subscriberCount === 0) return;
    const video = source.streams.find((s) => s.type === 'video' && s.width && s.height);
    const audio = source.streams.find((s) => s.type === 'audio');
    // A subscriber to media the source does not have is refused; the stream goes on for the others.
    if (!video) for (const subscriber of this.videoSubscribers) subscriber.end(noStreamError(this.config.spec.uri, 'video', source));
    if (!audio) for (const subscriber of this.audioSubscribers) subscriber.end(noStreamError(this.config.spec.uri, 'audio', source));

    const sourceSize = video ? this.decodedSize(video.width, video.height) : { width: 0, height: 0 };
    const wanted = new Map<string, ResolvedOutput>();
    if (video) {
      for (const subscriber of this.videoSubscribers) {
        const resolved = { ...subscriber.requestedOutput, ...resolveOutputSize(subscriber.requestedOutput, sourceSize) };
        subscriber.resolvedOutput = resolved;
        wanted.set(outputKey(resolved), resolved);
      }
    }
    const wantedAudio = new Map<string, ResolvedAudioOutput>();
    if (audio) {
      for (const subscriber of this.audioSubscribers) {
        const resolved = resolveAudioOutput(subscriber.requestedOutput, audio);
        subscriber.resolvedOutput = resolved;
        wantedAudio.set(audioOutputKey(resolved), resolved);
      }
    }
    const recordings = this.recordings.filter((recording) => !recording.finished);
    if (wanted.size + wantedAudio.size + recordings.length === 0) {
      await this.stopDecoder();
      return;
    }
    const recordingKey = (recording: Recording) => `recording:${recording.id}`;
    const current = new Set([...this.outputs.map(outputKey), ...this.audioOutputs.map(audioOutputKey), ...this.decoderRecordings.map(recordingKey)]);
    const wantedKeys = [...wanted.keys(), ...wantedAudio.keys(), ...recordings.map(recordingKey)];
    if (this.decoder && current.size === wantedKeys.length && wantedKeys.every((key) => current.has(key))) {
      this.assignSubscribers();
      return;
    }
    await this.stopDecoder();
    if (this.closed || this.subscriberCount === 0) return;
    this.outputs = [...wanted.values()];
    this.audioOutputs = [...wantedAudio.values()];
    this.decoderRecordings = recordings;
    this.assignSubscribers();
    this.startDecoder(video && this.outputs.length > 0 ? video.codec : (audio?.codec ?? ''), sourceSize);
  }

  /** The size of the decoded picture (a macOS screen region is cropped in the graph). */
  private decodedSize(width: number, height: number): { width: number; height: number } {
    const spec = this.config.spec;
    if (spec.kind === 'screen' && spec.region && this.tools.platform === 'darwin') return { width: spec.region.width, height: spec.region.height };
    return { width, height };
  }

  private assignSubscribers(): void {
    this.subscribersByOutput = assign(this.outputs.map(outputKey), this.videoSubscribers);
    this.subscribersByAudioOutput = assign(this.audioOutputs.map(audioOutputKey), this.audioSubscribers);
  }

  private async sourceInfo(): Promise<ProbeResponse> {
    if (this.probe) return this.probe;
    const spec = this.config.spec;
    const probe =
      spec.kind === 'feed'
        ? await this.requireFeed().describe()
        : spec.kind === 'mic'
          ? describeMicSource(spec, this.tools.platform)
          : await probeSource(this.tools.ffprobe(), spec, { platform: this.tools.platform, timeoutMs: 15_000, cache: this.tools.probes });
    this.probe = probe;
    this.emitState();
    return probe;
  }

  private watchedFeed: MediaFeed | undefined;

  /** The feed a `feed` source decodes; its end is the stream's end. */
  private requireFeed(): MediaFeed {
    const spec = this.config.spec;
    if (spec.kind !== 'feed') throw new Error('not a feed source');
    const feed = this.tools.feeds.get(spec.name);
    if (!feed) throw new MediaError('not-found', `no ${spec.scheme} publisher named "${spec.name}" is connected`);
    if (this.watchedFeed !== feed) {
      this.watchedFeed = feed;
      void feed.ended.then((reason) => {
        if (this.watchedFeed === feed && !this.closed) void this.endOfFeed(reason);
      });
    }
    return feed;
  }

  private async endOfFeed(reason: string): Promise<void> {
    this.clearRetryTimer();
    await this.stopDecoder();
    this.probe = undefined;
    this.clearOutputs();
    this.setState('ended', reason);
    for (const subscriber of this.everySubscriber) subscriber.end();
    await this.finishRecordings('stop', reason);
  }

  private describeDecoder(codec: string): string {
    const spec = this.config.spec;
    if (this.outputs.length === 0) return this.audioOutputs.length > 0 ? `${codec} (audio only)` : `${codec} (packets copied for recording, nothing decoded)`;
    if (spec.kind === 'test' || spec.kind === 'screen') return `${codec} (raw frames, nothing to decode)`;
    if (this.hwaccelFellBack) return `${codec} (software: hardware decoding with ${this.config.hwaccel} failed to start, fell back)`;
    if (this.hwaccel === 'none') return `${codec} (software)`;
    if (this.hwaccel === 'auto') return `${codec} (${this.hwaccelNote || 'auto: hardware when a device is available'})`;
    return `${codec} (${this.hwaccel})`;
  }

  private startDecoder(codec: string, sourceSize: { width: number; height: number }): void {
    const generation = ++this.generation;
    const spec = this.config.spec;
    // A file goes on where it was, without delivering a frame twice. A looping file starts
    // its loop again: its timestamps run on across loops, so its last one is past its end;
    // and ffmpeg, started with -ss and -stream_loop, takes the loop to be as long as what
    // it read the first time, and its timestamps go back at the second loop.
    const looping = spec.kind === 'file' && spec.loop;
    const resumeAtUs = spec.kind === 'file' && !looping && this.lastPtsUs >= 0 ? this.lastPtsUs : undefined;
    const seekUs = resumeAtUs;
    const feedInputs = spec.kind === 'feed' ? this.requireFeed().inputs() : [];
    const args = buildDecodeArgs(
      spec,
      this.outputs,
      sourceSize,
      {
        platform: this.tools.platform,
        hwaccel: this.hwaccel,
        feedInputs,
        ...(seekUs !== undefined ? { startAtSeconds: seekUs / 1e6 } : {}),
      },
      this.audioOutputs,
      this.decoderRecordings.map((recording) => recording.plan),
      this.probe?.streams.find((s) => s.type === 'video')?.frameRate ?? 0,
    );
    this.sequenceBase = this.nextSequence;
    this.outputCounts = this.outputs.map(() => 0);
    this.audioSequenceBase = this.nextAudioSequence;
    this.audioOutputCounts = this.audioOutputs.map(() => 0);
    this.firstAudioPtsUs = undefined;
    this.lastVideoAt = undefined;
    this.lastAudioAt = undefined;
    this.firstPtsUs = undefined;
    this.previousPtsUs = undefined;
    this.lastInputPosition = -1;
    this.transcodeStartUs = 0;
    this.decoderStartedAtUs = nowUs();
    this.lastFrameAtUs = 0;
    this.hwaccelNote = '';
    this.decoderLabel = this.describeDecoder(codec);
    log.debug(`stream ${this.id}: ffmpeg ${args.join(' ')}`);
    const recordings = this.decoderRecordings;
    const decoder = new Decoder(this.tools.ffmpeg(), args, { video: this.outputs, audio: this.audioOutputs, recordings: recordings.length, inputs: feedInputs.map((input) => input.open()) }, {
      onFrame: (frame) => {
        if (generation !== this.generation) return;
        // A file restarted for a new set of outputs seeks back to a keyframe: skip what was delivered.
        if (resumeAtUs !== undefined && frame.ptsUs <= resumeAtUs) return;
        this.onFrame(frame);
      },
      onAudio: (frame) => {
        if (generation !== this.generation) return;
        if (resumeAtUs !== undefined && frame.ptsUs <= resumeAtUs) return;
        this.onAudio(frame);
      },
      onTranscodeStart: (at) => {
        if (generation === this.generation) this.transcodeStartUs = at;
      },
      onHwaccelNote: (line) => {
        if (generation !== this.generation) return;
        if (/no device found/i.test(line)) this.hwaccelNote = 'software: no hardware decoder device available';
        else if (/Using auto hwaccel type (\w+)/.test(line)) this.hwaccelNote = `hardware: ${/Using auto hwaccel type (\w+)/.exec(line)![1]}`;
        else return;
        this.decoderLabel = this.describeDecoder(codec);
        this.emitState();
      },
      onDecodeError: () => {
        if (generation !== this.generation) return;
        this.droppedByDecoder++;
        this.watchedFeed?.requestKeyframe?.('the decoder reported a damaged frame');
      },
      onExit: (exit) => {
        if (generation === this.generation) this.onDecoderExit(exit);
      },
    });
    this.decoder = decoder;
    this.captureClock = spec.kind === 'file' && spec.realtime ? 'paced' : 'none';
    this.audioCaptureClock = this.captureClock;
    if (this.stateValue !== 'reconnecting') this.setState('starting', '');
    decoder.start();
    recordings.forEach((recording, index) => {
      const pipe = decoder.recordingPipe(index)!;
      // Packets of a recording alone (nothing decoded) show the source alive too.
      pipe.on('data', () => {
        if (generation === this.generation && this.outputs.length === 0 && this.audioOutputs.length === 0) this.markAlive(-1, nowUs());
      });
      recording.attach(pipe);
    });
    this.startWatchdog();
  }

  private onFrame(frame: DecoderFrame): void {
    const count = this.outputCounts[frame.outputIndex]!;
    this.outputCounts[frame.outputIndex] = count + 1;
    const sequence = this.sequenceBase + count;
    if (sequence >= this.nextSequence) this.nextSequence = sequence + 1;

    const at = frame.decodedAtUs;
    const ptsUs = Number.isFinite(frame.ptsUs) ? frame.ptsUs : (this.previousPtsUs ?? 0);
    if (this.firstPtsUs === undefined) {
      this.firstPtsUs = ptsUs;
      this.captureClock = this.detectCaptureClock(this.captureClock, ptsUs, at);
    }
    const capturedAtUs = this.captureTime(this.captureClock, this.firstPtsUs, ptsUs);

    if (frame.outputIndex === 0) {
      this.lastVideoAt = { ptsUs, atUs: at };
      this.countInput(frame, ptsUs, at, capturedAtUs);
    }

    const subscribers = this.subscribersByOutput[frame.outputIndex] ?? [];
    const decoded: DecodedFrame = {
      sequence,
      ptsUs,
      decodedAtUs: at,
      capturedAtUs,
      width: frame.width,
      height: frame.height,
      format: frame.format,
      data: frame.data,
      release: sharedRelease(frame.pool, frame.data, subscribers.length),
    };
    for (const subscriber of subscribers) subscriber.push(decoded);
    this.updateBackPressure();
  }

  /** Sources whose timestamps are the wall clock (x11grab, v4l2, pulse, our test sources) say when they captured each frame. */
  private detectCaptureClock(clock: CaptureClock, firstPtsUs: number, atUs: number): CaptureClock {
    return this.config.spec.live && Math.abs(firstPtsUs - atUs) < 3_600e6 ? 'wallclock-pts' : clock;
  }

  private captureTime(clock: CaptureClock, firstPtsUs: number, ptsUs: number): number {
    if (clock === 'wallclock-pts') return ptsUs;
    if (clock === 'paced' && this.transcodeStartUs > 0) return this.transcodeStartUs + (ptsUs - firstPtsUs);
    return 0;
  }

  private onAudio(frame: DecoderAudio): void {
    const output = this.audioOutputs[frame.outputIndex];
    if (!output) return;
    const count = this.audioOutputCounts[frame.outputIndex]!;
    this.audioOutputCounts[frame.outputIndex] = count + 1;
    const sequence = this.audioSequenceBase + count;
    if (sequence >= this.nextAudioSequence) this.nextAudioSequence = sequence + 1;
    const at = frame.decodedAtUs;
    const ptsUs = Number.isFinite(frame.ptsUs) ? frame.ptsUs : (this.lastAudioAt?.ptsUs ?? 0);
    if (this.firstAudioPtsUs === undefined) {
      this.firstAudioPtsUs = ptsUs;
      this.audioCaptureClock = this.detectCaptureClock(this.audioCaptureClock, ptsUs, at);
    }
    const capturedAtUs = this.captureTime(this.audioCaptureClock, this.firstAudioPtsUs, ptsUs);
    if (frame.outputIndex === 0) {
      this.lastAudioAt = { ptsUs, atUs: at };
      this.audioLevels.add(frame.data, output.sampleFormat, output.channels, at);
      // Without video, audio is what shows the source alive (watchdog, state, where a file resumes).
      if (this.outputs.length === 0) this.markAlive(ptsUs, at);
    }
    const decoded: DecodedAudio = {
      sequence,
      ptsUs,
      decodedAtUs: at,
      capturedAtUs,
      sampleRate: output.sampleRate,
      channels: output.channels,
      sampleFormat: output.sampleFormat,
      samples: frame.samples,
      data: frame.data,
    };
    for (const subscriber of this.subscribersByAudioOutput[frame.outputIndex] ?? []) subscriber.push(decoded);
    this.updateBackPressure();
  }

  private clearOutputs(): void {
    this.outputs = [];
    this.audioOutputs = [];
    this.decoderRecordings = [];
  }

  /** Ends every recording of the stream (its source ended, failed or was closed). */
  private finishRecordings(how: 'stop' | 'fail', reason: string): Promise<void> {
    const recordings = this.recordings;
    return Promise.all(recordings.map((recording) => (how === 'stop' ? recording.stop(reason) : recording.fail(reason)))).then(() => undefined);
  }

  private markAlive(ptsUs: number, at: number): void {
    this.lastFrameAtUs = at;
    if (this.config.spec.kind === 'file' && ptsUs >= 0) this.lastPtsUs = ptsUs;
    if (this.stateValue !== 'live') {
      this.attempts = 0;
      this.setState('live', '');
    }
  }

  /** Figures of the source itself, counted once per decoded frame (on output 0). */
  private countInput(frame: DecoderFrame, ptsUs: number, at: number, capturedAtUs: number): void {
    this.inputRate.add(1, 0, at);
    if (frame.inputPosition >= 0) {
      if (this.lastInputPosition >= 0 && frame.inputPosition > this.lastInputPosition) {
        this.inputBytes.add(0, frame.inputPosition - this.lastInputPosition, at);
      }
      this.lastInputPosition = frame.inputPosition;
    }
    const frameRate = this.probe?.streams.find((s) => s.type === 'video')?.frameRate ?? 0;
    if (this.config.spec.kind === 'network' && frameRate > 0 && this.previousPtsUs !== undefined) {
      // A gap in the timeline of more than one and a half frames is frames lost on the way.
      const missing = Math.round((ptsUs - this.previousPtsUs) * (frameRate / 1e6)) - 1;
      if (missing > 0 && missing < frameRate * 10) this.droppedByNetwork += missing;
    }
    this.previousPtsUs = ptsUs;
    if (capturedAtUs > 0) {
      this.lastCapturedAtUs = capturedAtUs;
      this.latency.add((at - capturedAtUs) / 1000, at);
    }
    this.markAlive(ptsUs, at);
  }

  private onDecoderExit(exit: DecoderExit): void {
    this.stopWatchdog();
    this.decoder = undefined;
    if (exit.stopped || this.closed) return;
    const spec = this.config.spec;
    const reason = summarizeExit(exit);
    const finite =
      (spec.kind === 'file' && !spec.loop) || (spec.kind === 'test' && spec.durationSeconds !== undefined) || (spec.kind === 'network' && this.probe?.live === false);
    if (exit.code === 0 && finite) {
      this.lastPtsUs = -1;
      this.clearOutputs();
      this.setState('ended', 'end of source');
      for (const subscriber of this.everySubscriber) subscriber.end();
      void this.finishRecordings('stop', 'end of source');
      return;
    }
    if (exit.framesOut === 0 && this.hwaccel !== 'none' && this.hwaccel !== 'auto' && !this.hwaccelFellBack) {
      log.warn(`stream ${this.id}: hardware decoding with ${this.hwaccel} failed to start (${reason}); falling back to software`);
      this.hwaccel = 'none';
      this.hwaccelFellBack = true;
      this.clearOutputs();
      this.scheduleReconcile();
      return;
    }
    if (spec.kind === 'file' && exit.framesOut === 0 && this.lastPtsUs < 0) {
      // A file that yields not one frame will not yield one on a retry either.
      this.fail(new MediaError('invalid-argument', `cannot decode ${spec.path}: ${reason}`));
      return;
    }
    this.onStartFailure(new MediaError('unavailable', reason));
  }

  private onStartFailure(error: MediaError): void {
    const spec = this.config.spec;
    const retryable = this.config.reconnect.enabled && error.code === 'unavailable' && spec.live;
    if (!retryable) {
      this.fail(error);
      return;
    }
    this.attempts++;
    const { initialDelayMs, maxDelayMs, maxAttempts } = this.config.reconnect;
    if (maxAttempts > 0 && this.attempts > maxAttempts) {
      this.fail(new MediaError('unavailable', `gave up after ${maxAttempts} reconnect attempts; last error: ${error.message}`));
      return;
    }
    const delay = Math.min(initialDelayMs * 2 ** (this.attempts - 1), maxDelayMs);
    this.reconnectCount++;
    this.clearOutputs();
    if (spec.kind === 'network') this.probe = undefined;
    this.setState('reconnecting', `${error.message} — retrying in ${(delay / 1000).toFixed(1)} s (attempt ${this.attempts})`);
    this.clearRetryTimer();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.runReconcile();
    }, delay);
  }

  private fail(error: MediaError): void {
    this.clearOutputs();
    this.setState('failed', error.message);
    for (const subscriber of this.everySubscriber) subscriber.end(new MediaError('failed-precondition', `stream "${this.id}" failed: ${error.message}`));
    void this.finishRecordings('fail', `the stream failed: ${error.message}`);
  }

  private goIdle(): void {
    if (this.closed || this.subscriberCount > 0) return;
    this.clearOutputs();
    if (this.stateValue !== 'failed' && this.stateValue !== 'ended') this.setState('idle', 'no subscribers');
  }

  private async stopDecoder(): Promise<void> {
    this.stopWatchdog();
    const decoder = this.decoder;
    this.decoder = undefined;
    this.generation++;
    if (decoder) await decoder.stop();
  }

  // ---- watchdog ------------------------------------------------------------

  private startWatchdog(): void {
    this.stopWatchdog();
    const { watchdogMs } = this.config;
    this.watchdogTimer = setInterval(
      () => {
        const decoder = this.decoder;
        if (!decoder) return;
        // Waiting on a slow `wait` subscriber is not a stall.
        if (this.anyHoldsDecoder()) {
          this.lastFrameAtUs = nowUs();
          return;
        }
        const since = (nowUs() - (this.lastFrameAtUs || this.decoderStartedAtUs)) / 1000;
        if (since >= watchdogMs) {
          log.warn(`stream ${this.id}: no frame for ${Math.round(since)} ms; restarting the source`);
          const tail = decoder.stderrTail().slice(-reasonLines).join(' | ');
          void this.stopDecoder().then(() =>
            this.onStartFailure(new MediaError('unavailable', `no frame for ${Math.round(since / 1000)} s (watchdog)${tail ? `: ${tail}` : ''}`)),
          );
        } else if (since >= Math.max(1000, watchdogMs / 4) && this.stateValue === 'live') {
          this.setState('stalled', `no frame for ${Math.round(since)} ms`);
        }
      },
      Math.max(100, Math.min(500, watchdogMs / 4)),
    );
    this.watchdogTimer.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.watchdogTimer = undefined;
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private clearRetryTimer(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private setState(state: StreamStateName, reason: string): void {
    if (state === this.stateValue && reason === this.reasonValue) return;
    this.stateValue = state;
    this.reasonValue = reason;
    this.emitState();
  }

  private emitState(): void {
    this.emit('state', this.snapshot());
  }
}

/** The reason a decoder exit gives, from ffmpeg's last meaningful stderr lines. */
export function summarizeExit(exit: DecoderExit): string {
  const how = exit.signal ? `ffmpeg was killed by ${exit.signal}` : `ffmpeg exited with code ${exit.code}`;
  const lines = exit.stderrTail.filter((line) => line.trim() && !/^\s*(Input|Output|Stream|Metadata|Duration|encoder|Press|Side data)/.test(line.trim()));
  const tail = lines.slice(-reasonLines).join(' | ');
  return tail ? `${how}: ${tail}` : how;
}

/** Subscribers grouped by the output they get, in the order of `keys`. */
function assign<S extends AnySubscriber>(keys: string[], subscribers: Iterable<S>): S[][] {
  const index = new Map(keys.map((key, i) => [key, i]));
  const groups = keys.map((): S[] => []);
  for (const subscriber of subscribers) {
    const i = subscriber.outputKey === undefined ? undefined : index.get(subscriber.outputKey);
    if (i !== undefined) groups[i]!.push(subscriber);
  }
  return groups;
}

function noStreamError(uri: string, media: 'video' | 'audio', probe: ProbeResponse): MediaError {
  const found = probe.streams.map((s) => `${s.type} ${s.codec}`).join(', ') || 'nothing';
  return new MediaError('invalid-argument', `${uri} has no ${media} stream to decode (found: ${found})`);
}
