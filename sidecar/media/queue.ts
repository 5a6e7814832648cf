import type { BufferPolicyName, DecodedFrame, QueuedMedia } from './types';

export interface QueueOptions {
  policy: BufferPolicyName;
  /** Bound in frames (≥ 1). */
  maxFrames: number;
  /** Bound in bytes; a single frame larger than this is still queued alone. */
  maxBytes: number;
  /** For `adaptive`: frames older than this (capture → now) are dropped while a newer one waits. */
  targetLatencyMs: number;
  /** Deliver at most this many frames per second of the source's timeline; 0 = every frame. */
  maxFps: number;
}

/** Why a frame did not reach the subscriber. */
export type DropReason = 'queue_full' | 'replaced' | 'late' | 'max_fps';
export const dropReasons: readonly DropReason[] = ['queue_full', 'replaced', 'late', 'max_fps'];

export interface Delivery<T extends QueuedMedia = DecodedFrame> {
  frame: T;
  /** Frames of the stream this subscriber did not get since its previous delivery. */
  droppedBefore: number;
}

/**
 * One subscriber's bounded queue and its buffering policy:
 *  - wait: never drops; `full` tells the decoder to hold (back-pressure).
 *  - drop_oldest / drop_newest: when full, the oldest queued / the arriving frame goes.
 *  - latest_only: a queue of one, always replaced by the newest frame.
 *  - adaptive: keeps the subscriber within the target latency: frames older than the
 *    target are dropped as long as a newer frame waits; bounded like drop_oldest.
 * Every drop is counted by reason.
 */
export class SubscriberQueue<T extends QueuedMedia = DecodedFrame> {
  private items: T[] = [];
  private byteCount = 0;
  private readonly drops: Record<DropReason, number> = { queue_full: 0, replaced: 0, late: 0, max_fps: 0 };
  private lastDeliveredSequence: number | undefined;
  private firstSequence: number | undefined;
  private lastAcceptedPtsUs: number | undefined;

  constructor(
    readonly options: QueueOptions,
    private readonly nowUs: () => number,
  ) {
    if (options.maxFrames < 1) throw new Error('a queue holds at least one frame');
  }

  get depth(): number {
    return this.items.length;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** At or over a bound (for `wait`: the decoder should hold). */
  get full(): boolean {
    return this.items.length >= this.boundFrames || (this.items.length > 0 && this.byteCount >= this.options.maxBytes);
  }

  /** Drops by the buffering policy (not max_fps skips), since the subscription began. */
  get totalPolicyDrops(): number {
    return this.drops.queue_full + this.drops.replaced + this.drops.late;
  }

  dropsByReason(): Record<DropReason, number> {
    return { ...this.drops };
  }

  private get boundFrames(): number {
    return this.options.policy === 'latest_only' ? 1 : this.options.maxFrames;
  }

  /** Whether `frame` would take the queue past a bound (a lone frame always fits). */
  private overflows(frame: T): boolean {
    return this.items.length > 0 && (this.items.length >= this.boundFrames || this.byteCount + frame.data.length > this.options.maxBytes);
  }

  push(frame: T): void {
    this.firstSequence ??= frame.sequence;
    if (this.skipForRate(frame)) return this.drop('max_fps', frame);
    switch (this.options.policy) {
      case 'wait':
        break;
      case 'drop_newest':
        if (this.overflows(frame)) return this.drop('queue_full', frame);
        break;
      case 'latest_only':
        while (this.items.length > 0) this.dropOldest('replaced');
        break;
      case 'drop_oldest':
      case 'adaptive':
        while (this.overflows(frame)) this.dropOldest('queue_full');
        break;
    }
    this.items.push(frame);
    this.byteCount += frame.data.length;
    if (this.options.policy === 'adaptive') this.dropLate();
  }

  shift(): Delivery<T> | undefined {
    if (this.options.policy === 'adaptive') this.dropLate();
    const frame = this.items.shift();
    if (!frame) return undefined;
    this.byteCount -= frame.data.length;
    const previous = this.lastDeliveredSequence ?? (this.firstSequence ?? frame.sequence) - 1;
    const droppedBefore = Math.max(0, frame.sequence - previous - 1);
    this.lastDeliveredSequence = frame.sequence;
    return { frame, droppedBefore };
  }

  /** Empties the queue without counting drops (the subscription ends). */
  clear(): void {
    for (const frame of this.items) frame.release?.();
    this.items = [];
    this.byteCount = 0;
  }

  private skipForRate(frame: T): boolean {
    const { maxFps } = this.options;
    if (maxFps <= 0) return false;
    const last = this.lastAcceptedPtsUs;
    // A timeline that jumps back (a loop, a restarted source) starts the spacing afresh.
    if (last !== undefined && frame.ptsUs >= last && frame.ptsUs - last < (1e6 / maxFps) * 0.98) return true;
    this.lastAcceptedPtsUs = frame.ptsUs;
    return false;
  }

  private dropLate(): void {
    const limitUs = this.options.targetLatencyMs * 1000;
    const now = this.nowUs();
    while (this.items.length > 1) {
      const head = this.items[0]!;
      if (now - (head.capturedAtUs || head.decodedAtUs) <= limitUs) break;
      this.dropOldest('late');
    }
  }

  private dropOldest(reason: DropReason): void {
    const frame = this.items.shift();
    if (!frame) return;
    this.byteCount -= frame.data.length;
    this.drop(reason, frame);
  }

  private drop(reason: DropReason, frame: T): void {
    this.drops[reason]++;
    frame.release?.();
  }
}
