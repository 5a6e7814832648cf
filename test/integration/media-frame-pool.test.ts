// Raw frame buffers are used again once every subscriber is done with them
// (sidecar/bufferPool.ts): subscribers that share a frame, read at different
// speeds, pause, or drop frames by policy must each get every frame's own pixels,
// never a later frame written into a buffer that was still theirs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeClip, referenceFrames } from './helpers/media';
import { BufferPolicy, type Frame, FrameFormat, useStreamsSidecar } from './helpers/streams';

const rig = useStreamsSidecar();
const width = 320;
const height = 240;
const frameCount = 75;

test('three subscribers of one RGB24 output (fast, paused, dropping) each get the pixels of the frames they are sent', async () => {
  // testsrc2 moves, so frames differ from one another, and the clip is lossless: ffmpeg's own decode is byte-exact.
  const path = makeClip('frame-pool-testsrc2.mkv', { codec: ['-c:v', 'ffv1'], format: 'matroska', pattern: 'testsrc2', size: `${width}x${height}`, rate: 25, seconds: frameCount / 25 });
  const reference = referenceFrames(path, { pixFmt: 'rgb24', width, height, bytesPerFrame: width * height * 3, count: frameCount });
  assert.equal(reference.length, frameCount);
  assert.ok(!reference[0]!.equals(reference[1]!), 'consecutive frames differ');

  await rig.client.open({ uri: `file://${path}`, id: 'pool' });
  const request = { streamId: 'pool', format: FrameFormat.FRAME_FORMAT_RGB24 };
  const fast = rig.client.collect({ ...request, policy: BufferPolicy.BUFFER_POLICY_WAIT }, frameCount + 5);
  const paused = rig.client.collect({ ...request, policy: BufferPolicy.BUFFER_POLICY_WAIT }, frameCount + 5);
  paused.call.pause();
  // Reads slowly (20 ms after each frame): frames are dropped from its queue while the others take them.
  const dropping = rig.client.collect({ ...request, policy: BufferPolicy.BUFFER_POLICY_DROP_OLDEST, queueFrames: 2 }, frameCount + 5, () => {
    dropping.call.pause();
    setTimeout(() => dropping.call.resume(), 20);
  });
  setTimeout(() => paused.call.resume(), 400);

  const check = (name: string, frames: Frame[]) => {
    assert.ok(frames.length > 0, `${name} got frames`);
    for (const frame of frames) {
      const expected = reference[Number(frame.sequence)];
      assert.ok(expected, `${name}: sequence ${frame.sequence} is a frame of the clip`);
      assert.ok(Buffer.from(frame.data).equals(expected), `${name}: frame ${frame.sequence} has the pixels of another frame`);
    }
  };
  const [a, b, c] = await Promise.all([fast.done, paused.done, dropping.done]);
  for (const result of [a, b, c]) assert.equal(result.error, undefined, result.error?.message);
  check('fast', a.frames);
  check('paused', b.frames);
  check('dropping', c.frames);
  assert.equal(a.frames.length, frameCount, 'the first subscriber, under wait, got every frame');
  assert.ok(c.frames.some((frame) => frame.droppedBefore > 0), 'the slow drop_oldest subscriber had frames dropped');
  await rig.client.close('pool');
});
