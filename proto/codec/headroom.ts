/**
 * Payload buffers with room in front for a message's header, so that a hand-written
 * encoder (frame.ts, chunk.ts) can write the header there and send the header and the
 * payload as one view of one buffer, without copying the payload.
 */

/** Bytes reserved in front of a payload: room for every header field of a Frame or a chunk at its largest. */
export const headroom = 128;

const reserved = new WeakSet<Uint8Array>();

/** A buffer for `size` payload bytes with `headroom` bytes of its own in front. */
export function allocateWithHeadroom(size: number): Buffer {
  const data = Buffer.allocUnsafeSlow(headroom + size).subarray(headroom);
  reserved.add(data);
  return data;
}

/** `header` then `data` as one buffer: a view over `data`'s headroom when it has some, else a copy of both. */
export function prependHeader(header: Buffer, data: Buffer): Buffer {
  if (data.length > 0 && reserved.has(data)) {
    const whole = Buffer.from(data.buffer, data.byteOffset - header.length, header.length + data.length);
    header.copy(whole, 0);
    return whole;
  }
  return Buffer.concat([header, data], header.length + data.length);
}
