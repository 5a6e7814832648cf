import { LatencyWindow, RateWindow } from './analytics';
import { nowUs } from './decoder';
import type { ResolvedAudioOutput, ResolvedOutput } from './ffmpegArgs';
import { type Delivery, type QueueOptions, SubscriberQueue } from './queue';
import {
  type AudioOutputSpec,
  audioOutputKey,
  type DecodedAudio,
  type DecodedFrame,
  type MediaError,
  type OutputSpec,
  outputKey,
  type QueuedMedia,
} from './types';

/** What a kind of subscriber gets: video frames in a format and size, or PCM. */
interface SubscriberKind<Requested, Resolved> {
  name: 'video' | 'audio';
  key(output: Resolved): string;
  describe(output: Resolved | undefined, requested: Requested): string;
}

export const videoKind: SubscriberKind<OutputSpec, ResolvedOutput> = {
  name: 'video',
  key: outputKey,
  describe: (output, requested) => (output ? `${output.format} ${output.width}x${output.height}` : requested.format),
};

export const audioKind: SubscriberKind<AudioOutputSpec, ResolvedAudioOutput> = {
  name: 'audio',
  key: audioOutputKey,
  describe: (output, requested) =>
    output ? `${output.sampleFormat} ${output.sampleRate} Hz ${output.channels === 1 ? 'mono' : 'stereo'} ${output.frameMs} ms` : requested.sampleFormat,
};

/**
 * One consumer of a stream's frames (video or audio): its requested output, its
 * bounded queue with its buffering policy, and its figures. The transport (gRPC)
 * pulls with `next()` when it can write, and is told by `onReadable` when a frame arrives.
 */
export class Subscriber<T extends QueuedMedia = DecodedFrame, Requested = OutputSpec, Resolved extends Requested = ResolvedOutput & Requested> {
  readonly queue: SubscriberQueue<T>;
  private readonly deliveredRate = new RateWindow(1000);
  private readonly latencyWindow = new LatencyWindow(5000);
  private bytesDeliveredTotal = 0;
  private endedWith: { error?: MediaError } | undefined;
  /** The output this subscriber gets, resolved once the source is known. */
  resolvedOutput: Resolved | undefined;
  onReadable: () => void = () => undefined;
  onEnd: (error?: MediaError) => void = () => undefined;

  constructor(
    readonly id: string,
    readonly kind: SubscriberKind<Requested, Resolved>,
    readonly requestedOutput: Requested,
    readonly queueOptions: QueueOptions,
    /** A live source cannot wait: there `wait` keeps its bound by dropping the oldest frame. */
    private readonly live: boolean,
  ) {
    this.queue = new SubscriberQueue<T>(live && queueOptions.policy === 'wait' ? { ...queueOptions, policy: 'drop_oldest' } : queueOptions, nowUs);
  }

  get bytesDelivered(): number {
    return this.bytesDeliveredTotal;
  }

  get outputKey(): string | undefined {
    return this.resolvedOutput ? this.kind.key(this.resolvedOutput) : undefined;
  }

  get ended(): boolean {
    return this.endedWith !== undefined;
  }

  /** Whether back-pressure should hold the decoder for this subscriber. */
  get holdsDecoder(): boolean {
    return this.queueOptions.policy === 'wait' && !this.live && this.queue.full && !this.ended;
  }

  push(frame: T): void {
    if (this.endedWith) return frame.release?.();
    this.queue.push(frame);
    if (this.queue.depth > 0) this.onReadable();
  }

  /** The next frame to deliver, or undefined when the queue is empty. */
  next(): Delivery<T> | undefined {
    const item = this.queue.shift();
    if (!item) {
      if (this.endedWith) this.finish();
      return undefined;
    }
    const at = nowUs();
    this.deliveredRate.add(1, item.frame.data.length, at);
    this.latencyWindow.add((at - (item.frame.capturedAtUs || item.frame.decodedAtUs)) / 1000, at);
    this.bytesDeliveredTotal += item.frame.data.length;
    return item;
  }

  /** Ends the subscription once its queue is drained (frames already queued are still delivered). */
  end(error?: MediaError): void {
    if (this.endedWith) return;
    this.endedWith = error ? { error } : {};
    if (this.queue.depth === 0 || error) this.finish();
    else this.onReadable();
  }

  private finished = false;
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onEnd(this.endedWith?.error);
  }

  figures(at = nowUs()) {
    return {
      subscriberId: this.id,
      deliveredFps: this.deliveredRate.perSecond(at),
      droppedByPolicy: this.queue.totalPolicyDrops,
      dropsByReason: this.queue.dropsByReason(),
      queueDepth: this.queue.depth,
      queueBytes: this.queue.bytes,
      bytesDelivered: this.bytesDeliveredTotal,
      latency: this.latencyWindow.summary(at),
      output: this.kind.describe(this.resolvedOutput, this.requestedOutput),
    };
  }
}

export type VideoSubscriber = Subscriber<DecodedFrame, OutputSpec, ResolvedOutput>;
export type AudioSubscriber = Subscriber<DecodedAudio, AudioOutputSpec, ResolvedAudioOutput>;
