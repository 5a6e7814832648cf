import { allocateWithHeadroom } from '../proto/codec/headroom';

/**
 * Payload buffers of one size (with headroom for a message header, see headroom.ts), used
 * again once whoever holds one is done with it: the raw frames of a decoder output, the
 * chunks of a store's ReadFile stream. Allocated afresh each time, 6 MB frames made V8
 * run a full garbage collection every two frames ("external memory pressure"). A buffer
 * nobody gives back is simply collected.
 */
export class BufferPool {
  private readonly spare: Buffer[] = [];
  private readonly own = new WeakSet<Buffer>();

  constructor(
    readonly bufferBytes: number,
    private readonly maxSpare = 4,
  ) {}

  take(): Buffer {
    const buffer = this.spare.pop() ?? allocateWithHeadroom(this.bufferBytes);
    this.own.add(buffer);
    return buffer;
  }

  owns(buffer: Buffer): boolean {
    return this.own.has(buffer);
  }

  /** Takes back one of its own buffers; any other buffer is left to the garbage collector. */
  give(buffer: Buffer): void {
    if (this.own.has(buffer) && this.spare.length < this.maxSpare && !this.spare.includes(buffer)) this.spare.push(buffer);
  }

  get spareCount(): number {
    return this.spare.length;
  }
}

/**
 * A buffer shared by `holders` (the subscribers a frame goes to): `release` once per holder
 * when it is done (it was delivered and written, dropped, or its subscription ended); the
 * last one gives the buffer back to its pool.
 */
export function sharedRelease(pool: BufferPool | undefined, data: Buffer, holders: number): (() => void) | undefined {
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
