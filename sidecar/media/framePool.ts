import { allocateFrameData } from '../../proto/codec/frame';

/**
 * Buffers for the raw frames of one decoder output, used again once every subscriber is
 * done with a frame. A 1080p RGB24 frame is 6 MB: allocated afresh each time, they made
 * V8 run a full garbage collection every two frames ("external memory pressure"), about
 * a third of the sidecar's CPU. A buffer nobody gives back is simply collected.
 */
export class FramePool {
  private readonly spare: Buffer[] = [];
  private readonly own = new WeakSet<Buffer>();

  constructor(
    readonly frameBytes: number,
    private readonly maxSpare = 4,
  ) {}

  take(): Buffer {
    const buffer = this.spare.pop() ?? allocateFrameData(this.frameBytes);
    this.own.add(buffer);
    return buffer;
  }

  owns(buffer: Buffer): boolean {
    return this.own.has(buffer);
  }

  give(buffer: Buffer): void {
    if (this.own.has(buffer) && this.spare.length < this.maxSpare && !this.spare.includes(buffer)) this.spare.push(buffer);
  }

  get spareCount(): number {
    return this.spare.length;
  }
}

/**
 * A frame shared by `holders` subscribers: `release` once per holder when it is done (it
 * was delivered and written, dropped, or its subscription ended); the last one gives the
 * buffer back to its pool.
 */
export function shareFrame(pool: FramePool | undefined, data: Buffer, holders: number): (() => void) | undefined {
  if (!pool?.owns(data)) return undefined;
  if (holders === 0) {
    pool.give(data);
    return undefined;
  }
  let left = holders;
  return () => {
    left -= 1;
    if (left === 0) pool.give(data);
  };
}
