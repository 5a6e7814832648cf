import { allocateFrameData } from '../../proto/codec/frame';
import type { BufferPool } from '../bufferPool';

/**
 * Cuts frames out of the bytes of a decoder's output pipe. Raw frames have an exact
 * size; JPEG frames are found by walking their marker segments (SOI … SOS, then the
 * entropy-coded data up to EOI), with Buffer.indexOf doing the scanning.
 */
export interface FrameSplitter {
  /** Takes the next chunk of the pipe; returns the frames it completed, in order. */
  push(chunk: Buffer): Buffer[];
  /** Bytes held that do not make a whole frame yet. */
  readonly pendingBytes: number;
}

/**
 * Raw frames of the pool's buffer size. A frame that a single chunk holds whole is a view
 * of that chunk (no copy); a frame spread over chunks is copied once into a buffer of the pool.
 */
export function rawFrameSplitter(pool: BufferPool): FrameSplitter {
  const frameSize = pool.bufferBytes;
  if (!Number.isInteger(frameSize) || frameSize <= 0) throw new Error(`raw frame size must be a positive integer; got ${frameSize}`);
  let partial: Buffer | undefined;
  let filled = 0;
  return {
    get pendingBytes() {
      return filled;
    },
    push(chunk: Buffer): Buffer[] {
      const frames: Buffer[] = [];
      let offset = 0;
      if (partial) {
        const take = Math.min(frameSize - filled, chunk.length);
        chunk.copy(partial, filled, 0, take);
        filled += take;
        offset = take;
        if (filled < frameSize) return frames;
        frames.push(partial);
        partial = undefined;
        filled = 0;
      }
      while (chunk.length - offset >= frameSize) {
        frames.push(chunk.subarray(offset, offset + frameSize));
        offset += frameSize;
      }
      if (offset < chunk.length) {
        // With headroom for the message header: the frame is sent without another copy.
        partial = pool.take();
        filled = chunk.copy(partial, 0, offset);
      }
      return frames;
    },
  };
}

export class JpegStreamError extends Error {}

/** Markers that stand alone, without a length field. */
const standaloneMarker = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8);

/**
 * Concatenated JPEG images (ffmpeg's image2pipe/mjpeg). Each image is returned as
 * its own buffer from SOI to EOI inclusive; bytes between images must not exist.
 */
export function jpegFrameSplitter(maxFrameBytes = 64 * 1024 * 1024): FrameSplitter {
  let pending: Buffer = Buffer.alloc(0);
  /** Where parsing of the image at the start of `pending` resumes, and in which part of it. */
  let cursor = 0;
  let inEntropyData = false;

  /** Length of the complete image at the start of `pending`, or 0 if it is not complete yet. */
  const completeImageLength = (): number => {
    if (cursor === 0) {
      if (pending.length < 2) return 0;
      if (pending[0] !== 0xff || pending[1] !== 0xd8) {
        throw new JpegStreamError(`expected a JPEG start (ff d8), found ${pending.subarray(0, 4).toString('hex')}`);
      }
      cursor = 2;
    }
    for (;;) {
      if (inEntropyData) {
        // In entropy-coded data 0xff is followed by 0x00 (stuffing) or a restart marker; anything else ends it.
        for (;;) {
          const ff = pending.indexOf(0xff, cursor);
          if (ff < 0 || ff + 1 >= pending.length) {
            cursor = ff < 0 ? pending.length : ff;
            return 0;
          }
          const next = pending[ff + 1]!;
          if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) {
            cursor = next === 0xff ? ff + 1 : ff + 2;
            continue;
          }
          cursor = ff;
          inEntropyData = false;
          break;
        }
      }
      if (cursor + 2 > pending.length) return 0;
      if (pending[cursor] !== 0xff) throw new JpegStreamError(`expected a JPEG marker at byte ${cursor}, found ${pending[cursor]!.toString(16)}`);
      const marker = pending[cursor + 1]!;
      if (marker === 0xff) {
        cursor += 1; // fill byte
        continue;
      }
      if (marker === 0xd9) return cursor + 2;
      if (standaloneMarker(marker)) {
        cursor += 2;
        continue;
      }
      if (cursor + 4 > pending.length) return 0;
      const segmentEnd = cursor + 2 + pending.readUInt16BE(cursor + 2);
      if (segmentEnd > pending.length) return 0;
      cursor = segmentEnd;
      if (marker === 0xda) inEntropyData = true;
    }
  };

  return {
    get pendingBytes() {
      return pending.length;
    },
    push(chunk: Buffer): Buffer[] {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const frames: Buffer[] = [];
      for (;;) {
        const length = completeImageLength();
        if (length === 0) break;
        // A copy, so that one small image does not keep a whole pipe chunk alive; with
        // headroom for the message header, so that it is sent without another.
        const frame = allocateFrameData(length);
        pending.copy(frame, 0, 0, length);
        frames.push(frame);
        pending = pending.subarray(length);
        cursor = 0;
        inEntropyData = false;
        if (pending.length === 0) break;
      }
      if (pending.length > maxFrameBytes) throw new JpegStreamError(`a JPEG image exceeded ${maxFrameBytes} bytes without an end marker`);
      return frames;
    },
  };
}

/**
 * PCM cut into frames whose sizes are told separately (by each ashowinfo line's sample
 * count: the last frame of a source may be short). `want` queues one frame's size with
 * a tag; `push` adds bytes; each complete frame is handed out with its tag, in order.
 * A frame inside one chunk is a view of it; one spread over chunks is copied once.
 */
export class PcmCutter<Tag> {
  private chunks: Buffer[] = [];
  private held = 0;
  private readonly wanted: Array<{ tag: Tag; bytes: number }> = [];

  constructor(private readonly onFrame: (tag: Tag, data: Buffer) => void) {}

  get pendingBytes(): number {
    return this.held;
  }

  want(tag: Tag, bytes: number): void {
    this.wanted.push({ tag, bytes });
    this.drain();
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.held += chunk.length;
    this.drain();
  }

  private drain(): void {
    while (this.wanted.length > 0 && this.held >= this.wanted[0]!.bytes) {
      const { tag, bytes } = this.wanted.shift()!;
      this.onFrame(tag, this.take(bytes));
    }
  }

  private take(bytes: number): Buffer {
    this.held -= bytes;
    const first = this.chunks[0];
    if (first && first.length >= bytes) {
      const frame = first.subarray(0, bytes);
      if (first.length === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
      return frame;
    }
    const frame = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.chunks[0]!;
      const n = chunk.copy(frame, filled, 0, Math.min(chunk.length, bytes - filled));
      filled += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    return frame;
  }
}
