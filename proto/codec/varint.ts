/** Protobuf varints for the hand-written codecs (frame.ts, chunk.ts). */
const twoTo32 = 2 ** 32;

/** Writes `value` (a non-negative integer below 2^64, or a negative int64) as a varint; returns the new offset. */
export function writeVarint(target: Buffer, offset: number, value: number): number {
  if (value < 0) {
    // int64 two's complement: ten bytes.
    let big = BigInt.asUintN(64, BigInt(value));
    while (big >= 0x80n) {
      target[offset++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    target[offset++] = Number(big);
    return offset;
  }
  let high = Math.floor(value / twoTo32);
  let low = value >>> 0;
  while (high > 0 || low > 0x7f) {
    target[offset++] = (low & 0x7f) | 0x80;
    low = ((low >>> 7) | ((high & 0x7f) << 25)) >>> 0;
    high = Math.floor(high / 128);
  }
  target[offset++] = low;
  return offset;
}

/** Reads a non-negative varint below 2^53 at `offset`; returns [value, next offset]. */
export function readVarint(message: Uint8Array, offset: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (offset >= message.length) throw new RangeError('the message ends inside a varint');
    const byte = message[offset++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, offset];
    scale *= 128;
  }
  throw new RangeError('a varint is longer than ten bytes');
}
