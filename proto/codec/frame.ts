/**
 * A hand-written codec for `sidestream.v1.Frame`, byte-compatible with the generated
 * one (a test checks both ways), for the one message whose payload is megabytes.
 *
 * The generated codec copies a frame's pixels twice on the way out (its writer's
 * final concatenation, then Buffer.from) and once on the way in. Here:
 *  - encode writes the small header fields into headroom reserved in front of the
 *    pixels (`allocateFrameData`), so the message is a view of the frame's own
 *    buffer: no copy at all (grpc-js then copies once to add its 5-byte prefix);
 *  - decode returns `data` as a view of the received message: no copy.
 * Field order on the wire puts `data` last; protobuf parsers accept any order.
 */
import { makeGenericClientConstructor } from '@grpc/grpc-js';
import { type Frame, FrameFormat, StreamsServiceClient, StreamsServiceService } from '../gen/sidestream/v1/streams';
import { allocateWithHeadroom, headroom, prependHeader } from './headroom';
import { writeVarint } from './varint';

/** Bytes reserved in front of frame data (see headroom.ts). */
export const frameHeadroom = headroom;

/** A buffer for `size` bytes of frame data with `frameHeadroom` bytes of its own in front. */
export const allocateFrameData = allocateWithHeadroom;

const scratch = Buffer.allocUnsafe(frameHeadroom);

function writeHeader(frame: Frame): number {
  let offset = 0;
  const field = (tag: number, value: number) => {
    if (value === 0) return;
    scratch[offset++] = tag;
    offset = writeVarint(scratch, offset, value);
  };
  field(0x08, frame.sequence);
  field(0x10, frame.ptsUs);
  field(0x18, frame.decodedAtUs);
  field(0x20, frame.capturedAtUs);
  field(0x28, frame.width);
  field(0x30, frame.height);
  field(0x38, frame.format);
  field(0x48, frame.droppedBefore);
  if (frame.data.length > 0) {
    scratch[offset++] = 0x42;
    offset = writeVarint(scratch, offset, frame.data.length);
  }
  return offset;
}

export function encodeFrame(frame: Frame): Buffer {
  const headerLength = writeHeader(frame);
  // With headroom, the header goes right before the pixels: no copy.
  return prependHeader(scratch.subarray(0, headerLength), frame.data as Buffer);
}

class FrameDecodeError extends Error {}

export function decodeFrame(message: Buffer): Frame {
  const frame: Frame = {
    sequence: 0,
    ptsUs: 0,
    decodedAtUs: 0,
    capturedAtUs: 0,
    width: 0,
    height: 0,
    format: FrameFormat.FRAME_FORMAT_UNSPECIFIED,
    data: Buffer.alloc(0),
    droppedBefore: 0,
  };
  let offset = 0;
  /** A varint as two 32-bit halves (low, high), so that 64-bit values keep every bit. */
  const varint64 = (): [number, number] => {
    let low = 0;
    let high = 0;
    for (let i = 0; i < 10; i++) {
      if (offset >= message.length) throw new FrameDecodeError('a Frame message ends inside a varint');
      const byte = message[offset++]!;
      if (i < 4) low |= (byte & 0x7f) << (7 * i);
      else if (i === 4) {
        low |= (byte & 0x0f) << 28;
        high |= (byte & 0x7f) >> 4;
      } else high |= (byte & 0x7f) << (7 * i - 32);
      if (byte < 0x80) return [low >>> 0, high >>> 0];
    }
    throw new FrameDecodeError('a varint in a Frame message is longer than ten bytes');
  };
  const varint = (): number => {
    const [low, high] = varint64();
    return high * 2 ** 32 + low;
  };
  /** int64 fields: two's complement when the top bit is set. */
  const signed = (): number => {
    const [low, high] = varint64();
    if (high < 0x80000000) return high * 2 ** 32 + low;
    const negatedLow = (~low + 1) >>> 0;
    const negatedHigh = (~high + (negatedLow === 0 ? 1 : 0)) >>> 0;
    return -(negatedHigh * 2 ** 32 + negatedLow);
  };
  while (offset < message.length) {
    const tag = varint();
    const wireType = tag & 7;
    switch (tag) {
      case 0x08: frame.sequence = varint(); break;
      case 0x10: frame.ptsUs = signed(); break;
      case 0x18: frame.decodedAtUs = signed(); break;
      case 0x20: frame.capturedAtUs = signed(); break;
      case 0x28: frame.width = varint(); break;
      case 0x30: frame.height = varint(); break;
      case 0x38: frame.format = varint(); break;
      case 0x48: frame.droppedBefore = varint(); break;
      case 0x42: {
        const length = varint();
        if (offset + length > message.length) throw new FrameDecodeError('a Frame message ends inside its data');
        frame.data = message.subarray(offset, offset + length);
        offset += length;
        break;
      }
      default:
        // A field this codec does not know (added later to the contract): skip it.
        if (wireType === 0) varint();
        else if (wireType === 1) offset += 8;
        else if (wireType === 2) {
          const length = varint(); // read first: `offset += varint()` would add to the offset before the read
          offset += length;
        }
        else if (wireType === 5) offset += 4;
        else throw new FrameDecodeError(`a Frame message has a field of wire type ${wireType}`);
    }
  }
  return frame;
}

/** The Streams service with this codec for Subscribe's frames: for servers (encode) and clients (decode). */
export const streamsServiceWithFrameCodec: typeof StreamsServiceService = {
  ...StreamsServiceService,
  subscribe: { ...StreamsServiceService.subscribe, responseSerialize: encodeFrame, responseDeserialize: decodeFrame },
};

/** A drop-in for the generated StreamsServiceClient that decodes frames without copying their pixels. */
export const StreamsClient = makeGenericClientConstructor(streamsServiceWithFrameCodec, 'sidestream.v1.StreamsService') as unknown as typeof StreamsServiceClient;
