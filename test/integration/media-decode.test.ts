// Decoding through the real sidecar: clips made at test time with the real ffmpeg in
// each codec it can encode, read over real gRPC, checked pixel by pixel against the
// known test pattern and against ffmpeg's own decode; every frame format and size;
// timestamps; one decode for many subscribers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { frameByteLength } from '../../sidecar/media/ffmpegArgs';
import { codecFixtures, decodeJpeg, hasEncoder, jpegSize, makeClip, meanAbsoluteDifference, referenceFrames, rgbAt, smpteTopBars } from './helpers/media';
import { childrenOf } from './helpers/procfs';
import { BufferPolicy, type Frame, FrameFormat, useStreamsSidecar, StreamState } from './helpers/streams';

/** One sidecar for the file, started before its tests and killed after them. */
const rig = useStreamsSidecar();

const ffmpegChildren = () => childrenOf(rig.sidecar.pid).filter((p) => p.comm === 'ffmpeg');

/** Opens a file and reads every frame of it in `format` under `wait`. */
async function readAll(path: string, id: string, request: { format: FrameFormat; width?: number; height?: number }, expected: number): Promise<Frame[]> {
  await rig.client.open({ uri: `file://${path}`, id });
  const { done } = rig.client.collect({ streamId: id, policy: BufferPolicy.BUFFER_POLICY_WAIT, ...request }, expected + 10);
  const result = await done;
  assert.equal(result.error, undefined, result.error?.message);
  assert.equal(result.ended, true, 'the subscription ends with OK at the end of the file');
  await rig.client.close(id);
  return result.frames;
}

describe('decoding each codec this ffmpeg can encode', () => {
  for (const fixture of codecFixtures) {
    const available = hasEncoder(fixture.encoder);
    test(`${fixture.codec} (${fixture.name}): 50 frames, exact size, 25 fps timestamps, SMPTE bar colours, same pixels as ffmpeg`, { skip: available ? false : `this ffmpeg has no ${fixture.encoder} to make the fixture` }, async () => {
      const path = makeClip(fixture.name, { codec: [...fixture.args], format: fixture.format });
      const probe = await rig.client.probe(`file://${path}`);
      assert.equal(probe.streams[0]?.codec, fixture.codec);

      const frames = await readAll(path, `decode-${fixture.codec}`, { format: FrameFormat.FRAME_FORMAT_RGB24 }, 50);
      assert.equal(frames.length, 50);
      frames.forEach((frame, i) => {
        assert.equal(frame.sequence, i);
        assert.equal(frame.width, 320);
        assert.equal(frame.height, 240);
        assert.equal(frame.format, FrameFormat.FRAME_FORMAT_RGB24);
        assert.equal(frame.data.length, 320 * 240 * 3);
        assert.ok(frame.decodedAtUs > 0);
        if (i > 0) assert.equal(frame.ptsUs - frames[i - 1]!.ptsUs, 40_000, `pts step at frame ${i}`);
      });

      const first = frames[0]!.data;
      smpteTopBars.forEach(([name, expected], bar) => {
        const x = Math.round(((bar + 0.5) * 320) / 7);
        const actual = rgbAt(first, 320, x, 40);
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(actual[c]! - expected[c]!) <= 24, `${name} bar at x=${x}: ${actual} vs ${expected}`);
      });
      const [reference] = referenceFrames(path, { pixFmt: 'rgb24', width: 320, height: 240, bytesPerFrame: 320 * 240 * 3, count: 1 });
      assert.ok(meanAbsoluteDifference(first, reference!) < 1, 'the first frame matches ffmpeg\'s own decode');
    });
  }
});

describe('frame formats and sizes', () => {
  const path = () => makeClip('h264.mp4', { codec: [...codecFixtures[0].args], format: 'mp4' });

  for (const [name, format, pixFmt] of [
    ['RGBA', FrameFormat.FRAME_FORMAT_RGBA, 'rgba'],
    ['I420', FrameFormat.FRAME_FORMAT_I420, 'yuv420p'],
    ['GRAY', FrameFormat.FRAME_FORMAT_GRAY, 'gray'],
  ] as const) {
    test(`${name} scaled to 160x120: byte-exact size, pixels as ffmpeg scales them`, async () => {
      const frames = await readAll(path(), `format-${name}`, { format, width: 160, height: 120 }, 50);
      assert.equal(frames.length, 50);
      const bytes = frameByteLength(name.toLowerCase() as 'rgba' | 'i420' | 'gray', 160, 120);
      for (const frame of frames) {
        assert.equal(frame.format, format);
        assert.deepEqual([frame.width, frame.height, frame.data.length], [160, 120, bytes]);
      }
      const [reference] = referenceFrames(path(), { pixFmt, width: 160, height: 120, bytesPerFrame: bytes, count: 1, scale: true });
      assert.ok(meanAbsoluteDifference(frames[0]!.data, reference!) < 2, `${name} differs from ffmpeg's own scale`);
    });
  }

  test('JPEG keeps the aspect ratio from the width alone and decodes to the pattern in full range', async () => {
    const frames = await readAll(path(), 'format-jpeg', { format: FrameFormat.FRAME_FORMAT_JPEG, width: 200 }, 50);
    assert.equal(frames.length, 50);
    for (const frame of frames) {
      assert.deepEqual([frame.width, frame.height], [200, 150]);
      assert.deepEqual(jpegSize(frame.data), { width: 200, height: 150 });
      assert.equal(frame.data.readUInt16BE(frame.data.length - 2), 0xffd9);
    }
    const rgb = decodeJpeg(frames[0]!.data);
    const [, [r, g, b]] = [0, rgbAt(rgb, 200, Math.round(200 / 14), 20)];
    assert.ok(r > 170 && g > 170 && b > 170 && r < 215, `the white bar decodes to ${r},${g},${b} (limited range would read ~180)`);
  });
});

describe('a live test source', () => {
  test('timestamps are the capture clock: monotonic, 30 per second, just before delivery', async () => {
    await rig.client.open({ uri: 'test:video?size=320x240&rate=30', id: 'live-pts' });
    const { done } = rig.client.collect({ streamId: 'live-pts', format: FrameFormat.FRAME_FORMAT_GRAY }, 61);
    const { frames, error } = await done;
    assert.equal(error, undefined);
    await rig.client.close('live-pts');
    const spanUs = frames.at(-1)!.ptsUs - frames[0]!.ptsUs;
    assert.ok(Math.abs(spanUs / 60 - 33_333) < 2_000, `mean frame interval ${spanUs / 60} µs`);
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.ptsUs > frames[i - 1]!.ptsUs, 'pts increase');
    for (const frame of frames) {
      assert.equal(frame.capturedAtUs, frame.ptsUs, 'a test source is stamped with the wall clock when it releases a frame');
      assert.ok(frame.decodedAtUs >= frame.capturedAtUs, 'decoded after captured');
      assert.ok(Math.abs(frame.capturedAtUs / 1000 - Date.now()) < 60_000, 'the capture time is now-ish wall-clock time');
    }
  });

  test('four subscribers with four formats are served by one ffmpeg', async () => {
    await rig.client.open({ uri: 'test:video?size=640x360&rate=30', id: 'fan-out' });
    const requests = [
      { format: FrameFormat.FRAME_FORMAT_JPEG, width: 320 },
      { format: FrameFormat.FRAME_FORMAT_RGB24 },
      { format: FrameFormat.FRAME_FORMAT_I420, width: 160, height: 90 },
      { format: FrameFormat.FRAME_FORMAT_GRAY },
    ];
    // Each subscriber reports when it has 10 frames; all four run at the same time.
    let counted = 0;
    let ffmpegCount = -1;
    const collections = requests.map((request) =>
      rig.client.collect({ streamId: 'fan-out', ...request }, 1_000_000, () => {
        counted++;
        return false;
      }),
    );
    const deadline = Date.now() + 20_000;
    while (collections.some((c) => c.frames.length < 10) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    ffmpegCount = ffmpegChildren().length;
    const stream = (await rig.client.list()).find((s) => s.id === 'fan-out')!;
    collections.forEach((c) => c.cancel());
    await rig.client.close('fan-out');
    assert.ok(counted >= 40, 'every subscriber got frames');
    assert.equal(ffmpegCount, 1, 'one decode for four outputs');
    assert.equal(stream.subscribers, 4);
    assert.equal(stream.state, StreamState.STREAM_STATE_LIVE);
    const sizes = collections.map((c) => [c.frames.at(-1)!.width, c.frames.at(-1)!.height]);
    assert.deepEqual(sizes, [[320, 180], [640, 360], [160, 90], [640, 360]]);
    // Frames of one source carry the same sequence numbers in every format.
    const lastCommon = Math.min(...collections.map((c) => c.frames.at(-1)!.sequence));
    const pts = collections.map((c) => c.frames.find((f) => f.sequence === lastCommon)?.ptsUs);
    assert.equal(new Set(pts.filter((p) => p !== undefined)).size, 1, 'one sequence number, one pts, in all formats');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ffmpegChildren().length, 0, 'closing the stream ends its ffmpeg');
  });
});

describe('looping files', () => {
  test('a looping file played in real time keeps delivering when its decoder restarts after several loops, and across the loops after', async () => {
    // B-frames and keyframes 0.8 s apart: a restart mid-loop must not seek (see startDecoder).
    const path = makeClip('loop-1s.mp4', { codec: ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '20', '-bf', '3', '-pix_fmt', 'yuv420p'], format: 'mp4', seconds: 1 });
    await rig.client.open({ uri: `file://${path}?loop=1&realtime=1`, id: 'loop' });
    const first = rig.client.collect({ streamId: 'loop', format: FrameFormat.FRAME_FORMAT_GRAY }, 1_000_000);
    await new Promise((r) => setTimeout(r, 2500)); // two and a half loops
    // A second subscriber in another format restarts the decoder with both outputs.
    const second = rig.client.collect({ streamId: 'loop', format: FrameFormat.FRAME_FORMAT_JPEG, width: 160 }, 1_000_000);
    await new Promise((r) => setTimeout(r, 300));
    const before = first.received();
    await new Promise((r) => setTimeout(r, 2500)); // two more loop boundaries
    const after = first.received();
    const state = (await rig.client.list()).find((s) => s.id === 'loop')?.state;
    first.cancel();
    second.cancel();
    await rig.client.close('loop');
    assert.equal(state, StreamState.STREAM_STATE_LIVE);
    assert.ok(after - before >= 50, `25 fps go on after the restart: ${after - before} frames in 2.5 s`);
    assert.ok(second.received() >= 50, `the new subscriber gets frames: ${second.received()}`);
  });
});
