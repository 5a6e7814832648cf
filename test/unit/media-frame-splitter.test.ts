// sidecar/media/frameSplitter.ts: exact frames out of pipe chunks of any size.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { BufferPool } from '../../sidecar/bufferPool';
import { JpegStreamError, jpegFrameSplitter, rawFrameSplitter } from '../../sidecar/media/frameSplitter';

/** Cuts `bytes` into chunks of the given sizes (cycled), as a pipe might deliver them. */
function chunked(bytes: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

const numbered = (frameSize: number, frames: number) => Buffer.from(Array.from({ length: frameSize * frames }, (_, i) => Math.floor(i / frameSize) + 1));

describe('raw frames', () => {
  test('frames spread over chunks, several frames in one chunk, and a remainder kept', () => {
    const frameSize = 10;
    for (const sizes of [[1], [3, 7], [10], [25], [9, 11, 13], [1000]]) {
      const splitter = rawFrameSplitter(new BufferPool(frameSize));
      const frames = chunked(numbered(frameSize, 5).subarray(0, 47), sizes).flatMap((chunk) => splitter.push(chunk));
      assert.equal(frames.length, 4, `chunk sizes ${sizes}`);
      frames.forEach((frame, i) => assert.deepEqual(frame, Buffer.alloc(frameSize, i + 1)));
      assert.equal(splitter.pendingBytes, 7);
    }
  });

  test('a frame inside one chunk is a view of it; a frame across chunks is one copy', () => {
    const chunk = numbered(4, 2);
    const [first, second] = rawFrameSplitter(new BufferPool(4)).push(chunk);
    const splitter = rawFrameSplitter(new BufferPool(4));
    splitter.push(chunk.subarray(0, 3));
    const [joined] = splitter.push(chunk.subarray(3));
    chunk.fill(9);
    assert.deepEqual([first, second], [Buffer.alloc(4, 9), Buffer.alloc(4, 9)], 'views see the chunk change');
    assert.deepEqual(joined, Buffer.alloc(4, 1), 'the copy does not');
  });

  test('a non-positive frame size is a programming error', () => {
    assert.throws(() => rawFrameSplitter(new BufferPool(0)));
  });
});

describe('JPEG frames', () => {
  function ffmpegJpegs(count: number): Buffer {
    const run = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=10', '-frames:v', String(count), '-c:v', 'mjpeg', '-q:v', '2', '-f', 'image2pipe', '-'], { maxBuffer: 1 << 26 });
    assert.equal(run.status, 0, run.stderr?.toString());
    return run.stdout;
  }

  test('real ffmpeg JPEGs split exactly, whatever the chunking (real ffmpeg output)', () => {
    const stream = ffmpegJpegs(6);
    for (const sizes of [[1], [2, 3], [17], [500], [4096], [stream.length]]) {
      const splitter = jpegFrameSplitter();
      const frames = chunked(stream, sizes).flatMap((chunk) => splitter.push(chunk));
      assert.equal(frames.length, 6, `chunk sizes ${sizes}`);
      assert.deepEqual(Buffer.concat(frames), stream);
      for (const frame of frames) {
        assert.equal(frame.readUInt16BE(0), 0xffd8);
        assert.equal(frame.readUInt16BE(frame.length - 2), 0xffd9);
      }
      assert.equal(splitter.pendingBytes, 0);
    }
  });

  test('stuffed 0xff00, restart markers and fill bytes inside entropy data do not end an image', () => {
    const sos = Buffer.from([0xff, 0xda, 0x00, 0x04, 0x01, 0x02]);
    const entropy = Buffer.from([0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xff, 0xd1, 0x78]);
    const image = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.from([0xff, 0xe0, 0x00, 0x04, 0xaa, 0xbb]), sos, entropy, Buffer.from([0xff, 0xd9])]);
    const splitter = jpegFrameSplitter();
    const frames = chunked(Buffer.concat([image, image]), [5]).flatMap((chunk) => splitter.push(chunk));
    assert.deepEqual(frames, [image, image]);
  });

  test('a segment length that contains ff d9 is not mistaken for the end', () => {
    const image = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xfe, 0x00, 0x06, 0xff, 0xd9, 0xff, 0xd9]), Buffer.from([0xff, 0xda, 0x00, 0x02, 0x01, 0xff, 0xd9])]);
    assert.deepEqual(jpegFrameSplitter().push(image), [image]);
  });

  test('bytes that are not JPEG are an error that shows them', () => {
    assert.throws(() => jpegFrameSplitter().push(Buffer.from('hello')), (error: unknown) => error instanceof JpegStreamError && /68656c6c/.test(error.message));
  });

  test('an image that never ends is bounded', () => {
    const splitter = jpegFrameSplitter(100);
    splitter.push(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02]));
    assert.throws(() => splitter.push(Buffer.alloc(200, 0x11)), /exceeded 100 bytes/);
  });
});
