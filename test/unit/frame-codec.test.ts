// proto/codec/frame.ts: the hand-written Frame codec is byte-compatible with the generated one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocateFrameData, decodeFrame, encodeFrame, frameHeadroom } from '../../proto/codec/frame';
import { type Frame, Frame as GeneratedFrame, FrameFormat } from '../../proto/gen/sidestream/v1/streams';

const sample = (data: Buffer, overrides: Partial<Frame> = {}): Frame => ({
  sequence: 123_456,
  ptsUs: 1_795_519_702_882_605,
  decodedAtUs: 1_795_519_702_890_000,
  capturedAtUs: 1_795_519_702_882_605,
  width: 1920,
  height: 1080,
  format: FrameFormat.FRAME_FORMAT_RGB24,
  data,
  droppedBefore: 3,
  ...overrides,
});

const edgeCases: Array<Partial<Frame>> = [
  {},
  { sequence: 0, ptsUs: 0, droppedBefore: 0, format: FrameFormat.FRAME_FORMAT_UNSPECIFIED },
  { ptsUs: -1 },
  { ptsUs: -40_000, capturedAtUs: -(2 ** 52) },
  { sequence: 2 ** 53 - 1, decodedAtUs: 2 ** 53 - 1 },
  { width: 2 ** 32 - 1, height: 127, droppedBefore: 128 },
];

test('what we encode, the generated codec decodes to the same frame', () => {
  for (const overrides of edgeCases) {
    for (const data of [Buffer.from('pixels'), Buffer.alloc(0), Buffer.alloc(70_000, 7)]) {
      const frame = sample(data, overrides);
      assert.deepEqual(GeneratedFrame.decode(encodeFrame(frame)), { ...frame, data: Buffer.from(data) });
    }
  }
});

test('what the generated codec encodes, we decode to the same frame', () => {
  for (const overrides of edgeCases) {
    const frame = sample(Buffer.from([1, 2, 3, 255]), overrides);
    assert.deepEqual(decodeFrame(Buffer.from(GeneratedFrame.encode(frame).finish())), frame);
  }
});

test('frame data with headroom is encoded in place: the message is a view of the frame buffer', () => {
  const data = allocateFrameData(1000);
  data.fill(9);
  const message = encodeFrame(sample(data));
  assert.equal(message.buffer, data.buffer);
  assert.equal(message.byteOffset + message.length, data.byteOffset + data.length);
  assert.ok(message.byteOffset >= data.byteOffset - frameHeadroom);
  assert.deepEqual(GeneratedFrame.decode(message).data, Buffer.from(data));
});

test('decoded data is a view of the message, and unknown fields are skipped', () => {
  const message = Buffer.concat([Buffer.from([0x50, 0x05, 0x5a, 0x02, 0xaa, 0xbb]), encodeFrame(sample(Buffer.from('abc')))]);
  const frame = decodeFrame(message);
  assert.equal(frame.data.buffer, message.buffer);
  assert.equal(frame.data.toString(), 'abc');
  assert.throws(() => decodeFrame(Buffer.from([0x42, 0x10, 0x01])), /ends inside its data/);
});
