// proto/codec/chunk.ts: the hand-written ReadFileResponse codec is byte-compatible with the generated one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocateChunkData, chunkHeadroom, decodeChunk, encodeChunk } from '../../proto/codec/chunk';
import { ReadFileResponse } from '../../proto/gen/sidestream/store/v1/model_store';

const offsets = [0, 1, 127, 128, 1 << 20, 2 ** 32 + 5, 2 ** 40 + 3];

test('what we encode, the generated codec decodes to the same chunk (with and without headroom)', () => {
  for (const offset of offsets) {
    for (const size of [0, 1, 1000, 1 << 20]) {
      const plain = Buffer.alloc(size, 7);
      const roomy = allocateChunkData(size);
      roomy.fill(7);
      for (const data of [plain, roomy]) {
        const decoded = ReadFileResponse.decode(encodeChunk({ offset, data }));
        assert.equal(decoded.offset, offset);
        assert.ok(Buffer.from(decoded.data).equals(plain), `offset ${offset}, ${size} bytes`);
      }
    }
  }
});

test('what the generated codec encodes, we decode to the same chunk, data as a view (no copy)', () => {
  for (const offset of offsets) {
    const message = Buffer.from(ReadFileResponse.encode({ offset, data: Buffer.from('model bytes') }).finish());
    const chunk = decodeChunk(message);
    assert.equal(chunk.offset, offset);
    assert.equal(Buffer.from(chunk.data).toString(), 'model bytes');
    assert.equal(chunk.data.buffer, message.buffer, 'a view of the message');
  }
});

test('encoding into headroom does not copy the data', () => {
  const data = allocateChunkData(4096);
  const message = encodeChunk({ offset: 12345, data });
  assert.equal(message.buffer, data.buffer);
  assert.ok(message.byteOffset >= data.byteOffset - chunkHeadroom);
});

test('unknown fields are skipped, truncated messages are refused', () => {
  const known = Buffer.from(ReadFileResponse.encode({ offset: 9, data: Buffer.from('x') }).finish());
  const withExtra = Buffer.concat([Buffer.from([0x18, 0x05, 0x22, 0x02, 0x61, 0x62]), known]);
  assert.equal(decodeChunk(withExtra).offset, 9);
  assert.throws(() => decodeChunk(known.subarray(0, known.length - 1)), RangeError);
});
