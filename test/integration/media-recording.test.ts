// Recording through the Recording service: real ffmpeg writing real files, read back
// with ffprobe. Containers and modes, timestamps from zero with audio and video in
// step, metadata in the file and beside it, segments with retention, files that are
// never overwritten, segments by size (cut in Node at keyframes: every packet once), and
// recordings cut short by a killed sidecar or a full disk.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureDir } from './helpers/media';
import { decodedFrames, packetsOf, probeFile, RecordingState, RecordingTestClient, Container, RecordingMode } from './helpers/recordings';
import { newToken, type RunningSidecar, sleep, startSidecar } from './helpers/sidecar';
import { FrameFormat, StreamsTestClient, StreamState, waitForEvent } from './helpers/streams';

let sidecar: RunningSidecar;
let streams: StreamsTestClient;
let recordings: RecordingTestClient;
let token: string;

before(async () => {
  token = newToken();
  sidecar = await startSidecar({ token });
  streams = new StreamsTestClient(sidecar.address, token);
  recordings = new RecordingTestClient(sidecar.address, token);
});

after(() => {
  streams?.shutdown();
  recordings?.shutdown();
  sidecar?.kill();
});

function folder(name: string): string {
  const path = join(fixtureDir(), 'recordings', name);
  mkdirSync(path, { recursive: true });
  return path;
}

const testSource = 'test:video?size=320x240&rate=30&tone=440';
const frameSeconds = 1 / 30;

async function waitForRecordingState(id: string, state: RecordingState, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await recordings.list()).find((r) => r.id === id);
    if (found?.state === state) return found;
    if (Date.now() > deadline) throw new Error(`recording ${id} did not reach state ${state}; it is ${found?.state} (${found?.reason})`);
    await sleep(100);
  }
}

describe('recording', () => {
  for (const { container, name, video, audio } of [
    { container: Container.CONTAINER_MP4, name: 'mp4', video: 'h264', audio: 'aac' },
    { container: Container.CONTAINER_MKV, name: 'mkv', video: 'h264', audio: 'opus' },
    { container: Container.CONTAINER_WEBM, name: 'webm', video: 'vp8', audio: 'opus' },
  ]) {
    test(`a test pattern with a tone, encoded into ${name}: ${video} + ${audio} from zero, in step, with metadata in the file and beside it`, async () => {
      const id = `enc-${name}`;
      await streams.open({ uri: testSource, id });
      const dir = folder(id);
      const started = await recordings.start({ streamId: id, folder: dir, container, title: 'Bench run 7', metadata: { experiment: 'e42', 'camera.position': 'left' } });
      assert.equal(started.state, RecordingState.RECORDING_STATE_RECORDING);
      assert.deepEqual([started.container, started.mode, started.videoCodec, started.audioCodec], [name, 'encode', video, audio]);
      await sleep(2500);
      const stopped = await recordings.stop(started.id);
      assert.equal(stopped.state, RecordingState.RECORDING_STATE_STOPPED);
      assert.equal(stopped.files.length, 1);
      const file = stopped.files[0]!;
      assert.ok(file.startsWith(dir) && file.endsWith(`.${name}`), file);

      const probed = probeFile(file);
      const v = probed.streams.find((s) => s.type === 'video')!;
      const a = probed.streams.find((s) => s.type === 'audio')!;
      assert.deepEqual([v.codec, a.codec], [video, audio]);
      assert.ok(v.packets >= 45, `about 2.5 s of video; got ${v.packets} frames`);
      assert.ok(Math.abs(v.startTime) <= frameSeconds, `video starts at zero; got ${v.startTime}`);
      assert.ok(Math.abs(a.startTime - v.startTime) <= frameSeconds, `A/V start offset within a frame: video ${v.startTime}, audio ${a.startTime}`);
      // Where each medium ends: its last packet (audio comes in whole codec frames, AAC 21 ms, Opus 20 ms).
      const packets = packetsOf(file);
      const lastPts = (type: string) => Math.max(...packets.filter((p) => p.type === type).map((p) => p.ptsTime));
      const [videoEnd, audioEnd] = [lastPts('video'), lastPts('audio')];
      assert.ok(Number.isFinite(videoEnd) && Number.isFinite(audioEnd), `both media have timestamps: ${videoEnd}, ${audioEnd}`);
      assert.ok(Math.abs(audioEnd - videoEnd) <= frameSeconds + 0.025, `video and audio end together: ${videoEnd} vs ${audioEnd}`);
      assert.equal(probed.tags.title, 'Bench run 7');
      assert.equal(probed.tags.source_uri, testSource);
      assert.equal(probed.tags.experiment, 'e42');
      assert.ok(Math.abs(Date.parse(probed.tags.creation_time!) - started.startedAtUs / 1000) < 1000, `creation_time ${probed.tags.creation_time}`);

      const json = JSON.parse(readFileSync(stopped.metadataFile, 'utf8'));
      assert.equal(json.title, 'Bench run 7');
      assert.equal(json.source.uri, testSource);
      assert.deepEqual(json.metadata, { experiment: 'e42', 'camera.position': 'left' });
      assert.deepEqual(json.files, [file]);
      assert.equal(json.state, 'stopped');
      assert.equal(json.summary.frames, v.packets);
      assert.equal(json.summary.bytes, statSync(file).size);
      assert.ok(json.summary.durationSeconds > 2, `duration ${json.summary.durationSeconds}`);
      await streams.close(id);
    });
  }

  test('copy mode keeps the source\'s packets (no re-encode), from a keyframe: H264 + AAC to mp4 and mkv, VP8 + Opus to webm', async () => {
    const clip = (name: string, codecs: string[]) => {
      const path = join(fixtureDir(), name);
      const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30:duration=3', '-f', 'lavfi', '-i', 'sine=f=440:r=48000:duration=3', ...codecs, '-y', path]);
      assert.equal(made.status, 0, made.stderr?.toString());
      return path;
    };
    const h264 = clip('rec-source.mp4', ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '15', '-pix_fmt', 'yuv420p', '-c:a', 'aac']);
    const vp8 = clip('rec-source.webm', ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '15', '-b:v', '1M', '-c:a', 'libopus']);
    for (const [source, container, name, codecs] of [
      [h264, Container.CONTAINER_MP4, 'mp4', ['aac', 'h264']],
      [h264, Container.CONTAINER_MKV, 'mkv', ['aac', 'h264']],
      [vp8, Container.CONTAINER_WEBM, 'webm', ['opus', 'vp8']],
    ] as const) {
      const id = `copy-${name}`;
      await streams.open({ uri: `file://${source}?realtime=1`, id });
      const path = join(folder(id), `copy.${name}`);
      const started = await recordings.start({ streamId: id, path, container });
      assert.deepEqual([started.mode, started.audioCodec, started.videoCodec], ['copy', ...codecs]);
      const stopped = await waitForRecordingState(started.id, RecordingState.RECORDING_STATE_STOPPED, 15_000);
      assert.equal(stopped.reason, 'end of source');
      const probed = probeFile(path);
      assert.deepEqual(probed.streams.map((s) => s.codec).sort(), codecs);
      const frames = decodedFrames(path);
      assert.ok(frames >= 75 && frames <= 90, `most of the 3 s clip, from a keyframe; got ${frames} frames`);
      await streams.close(id);
    }
  });

  test('requests that cannot be recorded are refused with what to fix', async () => {
    await streams.open({ uri: 'test:video?size=160x120', id: 'refuse' });
    const dir = folder('refuse');
    const cases: Array<[object, number, RegExp]> = [
      [{ folder: dir, mode: RecordingMode.RECORDING_MODE_COPY }, 3, /mode copy: raw frames are not copied into a recording; use mode encode/],
      [{ folder: 'relative/dir' }, 3, /folder must be an absolute path/],
      [{ folder: dir, path: join(dir, 'x.mp4') }, 3, /exactly one of folder/],
      [{ path: join(dir, 'x.avi') }, 3, /path must end in \.mp4, \.mkv or \.webm/],
      [{ path: join(dir, 'x.mp4'), container: Container.CONTAINER_WEBM }, 3, /container webm does not match the path's extension \.mp4/],
      [{ folder: join(dir, 'missing') }, 9, /cannot write to .*missing/],
      [{ folder: dir, keepSegments: 3 }, 3, /set segment_seconds or segment_bytes too/],
      [{ folder: dir, segmentBytes: 65535 }, 3, /segment_bytes must be at least 65536 \(64 KiB\); got 65535/],
      [{ folder: dir, metadata: { 'bad key': 'x' } }, 3, /metadata key "bad key"/],
    ];
    for (const [request, code, message] of cases) {
      await assert.rejects(recordings.start({ streamId: 'refuse', ...request }), (error: { code: number; details: string }) => {
        assert.equal(error.code, code, `${JSON.stringify(request)}: ${error.details}`);
        assert.match(error.details, message);
        return true;
      });
    }
    await assert.rejects(recordings.start({ streamId: 'nope', folder: dir }), { code: 5 });
    await assert.rejects(recordings.stop('rec-999'), { code: 5 });
    assert.deepEqual(readdirSync(dir), [], 'nothing written');
    await streams.close('refuse');
  });

  test('a recording never overwrites a file: an existing path is ALREADY_EXISTS and the file is untouched', async () => {
    await streams.open({ uri: 'test:video?size=160x120', id: 'exists' });
    const path = join(folder('exists'), 'taken.mp4');
    writeFileSync(path, 'precious');
    await assert.rejects(recordings.start({ streamId: 'exists', path }), (error: { code: number; details: string }) => {
      assert.equal(error.code, 6);
      assert.match(error.details, /taken\.mp4 exists: a recording never overwrites a file/);
      return true;
    });
    assert.equal(readFileSync(path, 'utf8'), 'precious');
    await streams.close('exists');
  });

  test('segments of 1 s with a retention of 2: the oldest are deleted, each kept one plays on its own', async () => {
    await streams.open({ uri: 'test:video?size=320x240&rate=30', id: 'segments' });
    const dir = folder('segments');
    const started = await recordings.start({ streamId: 'segments', folder: dir, segmentSeconds: 1, keepSegments: 2 });
    await sleep(4500);
    const stopped = await recordings.stop(started.id);
    assert.equal(stopped.files.length, 2, stopped.files.join(', '));
    const onDisk = readdirSync(dir).filter((name) => name.endsWith('.mp4')).sort();
    assert.deepEqual(onDisk.map((name) => join(dir, name)), stopped.files);
    assert.match(onDisk[0]!, /-\d{5}\.mp4$/);
    assert.ok(Number(/-(\d{5})\.mp4$/.exec(onDisk[0]!)![1]) >= 2, `the first segments were deleted: ${onDisk.join(', ')}`);
    for (const file of stopped.files) {
      const probed = probeFile(file);
      assert.ok(Math.abs(probed.streams[0]!.startTime) <= frameSeconds, `${file} starts at zero`);
      assert.ok(decodedFrames(file) > 0, `${file} plays`);
    }
    await streams.close('segments');
  });

  test('the preview goes on while recording: a subscriber keeps receiving frames, and the stream stays live', async () => {
    await streams.open({ uri: 'test:video?size=320x240&rate=30', id: 'rec-preview' });
    const watch = streams.watch('rec-preview', 200);
    const frames = streams.collect({ streamId: 'rec-preview', format: FrameFormat.FRAME_FORMAT_JPEG }, 1_000_000);
    await waitForEvent(watch.events, (e) => e.stream?.state === StreamState.STREAM_STATE_LIVE, 10_000, 'live');
    const started = await recordings.start({ streamId: 'rec-preview', folder: folder('rec-preview') });
    const before = frames.received();
    await sleep(1500);
    assert.ok(frames.received() - before >= 30, `frames kept coming: ${frames.received() - before} in 1.5 s`);
    await recordings.stop(started.id);
    frames.cancel();
    watch.call.cancel();
    await streams.close('rec-preview');
  });
});

describe('segments by size (segment_bytes)', () => {
  const limit = 300 * 1024;

  /** Segments by size: each but the last reaches the limit, and was cut at the first keyframe after it did. */
  function checkSizes(files: string[], bytes: number): number[] {
    const sizes = files.map((file) => statSync(file).size);
    files.slice(0, -1).forEach((file, index) => {
      assert.ok(sizes[index]! >= bytes, `${file}: ${sizes[index]} bytes, at least ${bytes}`);
      const lastKeyframe = packetsOf(file).filter((p) => p.type === 'video' && p.key).at(-1)!;
      // What comes before its last keyframe is below the limit (else the cut would have come there);
      // the allowance is the container's overhead over the NUT bytes the limit is counted in.
      assert.ok(lastKeyframe.pos < bytes * 1.02 + 4096, `${file}: its last keyframe at byte ${lastKeyframe.pos} comes after the limit ${bytes}: cut late`);
    });
    return sizes;
  }

  function checkPlayableFromZero(file: string, title: string) {
    const probed = probeFile(file);
    const video = probed.streams.find((s) => s.type === 'video')!;
    assert.ok(Math.abs(video.startTime) <= 3 * frameSeconds, `${file} starts at zero; got ${video.startTime}`);
    assert.equal(decodedFrames(file), video.packets, `${file}: every frame decodes, from its first`);
    assert.equal(probed.tags.title, title, `${file} has the metadata`);
    return video.packets;
  }

  test('encode: a 640x480 test pattern in MP4 segments of 300 KiB, cut at keyframes, every frame once, each playable from zero', async () => {
    // The source ends by itself after 8 s; a recording restarts its decoder, so a recording of
    // it always holds the same frames: what one file holds, the segments hold together.
    const source = 'test:video?size=640x480&rate=30&duration=8';
    await streams.open({ uri: source, id: 'bytes-whole' });
    const whole = await recordings.start({ streamId: 'bytes-whole', folder: folder('bytes-whole') });
    const wholeFile = (await waitForRecordingState(whole.id, RecordingState.RECORDING_STATE_STOPPED, 40_000)).files[0]!;
    const expected = probeFile(wholeFile).streams[0]!.packets;
    assert.ok(expected >= 230, `about 8 s at 30 fps in one file; got ${expected}`);
    await streams.close('bytes-whole');

    await streams.open({ uri: source, id: 'bytes-enc' });
    const dir = folder('bytes-enc');
    const started = await recordings.start({ streamId: 'bytes-enc', folder: dir, segmentBytes: limit, title: 'Sized', metadata: { run: 'b1' } });
    const stopped = await waitForRecordingState(started.id, RecordingState.RECORDING_STATE_STOPPED, 40_000);
    assert.equal(stopped.reason, 'end of source');
    const files = stopped.files;
    assert.ok(files.length >= 3, `several segments: ${files.join(', ')}`);
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.mp4')).sort().map((name) => join(dir, name)), files);
    files.forEach((file, index) => assert.match(file, new RegExp(`-${String(index).padStart(5, '0')}\\.mp4$`)));
    const sizes = checkSizes(files, limit);
    let frames = 0;
    for (const file of files) frames += checkPlayableFromZero(file, 'Sized');
    assert.equal(frames, expected, `the frames one file holds, none lost or doubled between segments (sizes ${sizes.join(', ')})`);
    const json = JSON.parse(readFileSync(stopped.metadataFile, 'utf8'));
    assert.deepEqual(json.files, files);
    assert.equal(json.summary.frames, expected);
    assert.equal(json.summary.bytes, sizes.reduce((a, b) => a + b, 0));
    assert.equal(Number(stopped.bytes), json.summary.bytes);
    await streams.close('bytes-enc');
  });

  test('copy: a file\'s H264 (with B-frames) + AAC in MKV segments of 300 KiB: the source\'s packets, each once, in order', async () => {
    const clip = join(fixtureDir(), 'rec-bytes-source.mp4');
    const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30:duration=8', '-f', 'lavfi', '-i', 'sine=f=440:duration=8', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', '-bf', '2', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-y', clip]);
    assert.equal(made.status, 0, made.stderr?.toString());
    await streams.open({ uri: `file://${clip}?realtime=1`, id: 'bytes-copy' });
    const path = join(folder('bytes-copy'), 'copy.mkv');
    const started = await recordings.start({ streamId: 'bytes-copy', path, segmentBytes: limit, title: 'Copied' });
    assert.deepEqual([started.mode, started.videoCodec, started.audioCodec], ['copy', 'h264', 'aac']);
    const stopped = await waitForRecordingState(started.id, RecordingState.RECORDING_STATE_STOPPED, 30_000);
    const files = stopped.files;
    assert.ok(files.length >= 3, `several segments: ${files.join(', ')}`);
    assert.match(files[0]!, /copy-00000\.mkv$/);
    checkSizes(files, limit);
    files.forEach((file) => checkPlayableFromZero(file, 'Copied'));
    const source = packetsOf(clip);
    const recorded = files.flatMap((file) => packetsOf(file));
    for (const type of ['video', 'audio']) {
      const want = source.filter((p) => p.type === type).map((p) => p.hash);
      const got = recorded.filter((p) => p.type === type).map((p) => p.hash);
      const first = want.indexOf(got[0]!);
      assert.ok(first >= 0, `the first recorded ${type} packet is one of the source's`);
      assert.deepEqual(got, want.slice(first), `${type}: every source packet from the first recorded one to the end, once each, in order (${got.length} of ${want.length})`);
    }
    await streams.close('bytes-copy');
  });

  test('keep_segments 2 with segment_bytes: the oldest segments are deleted, and the JSON beside them follows', async () => {
    await streams.open({ uri: 'test:video?size=640x480&rate=30', id: 'bytes-keep' });
    const dir = folder('bytes-keep');
    const started = await recordings.start({ streamId: 'bytes-keep', folder: dir, segmentBytes: 100 * 1024, keepSegments: 2 });
    await sleep(5000);
    const during = JSON.parse(readFileSync(started.metadataFile, 'utf8'));
    assert.ok(during.files.length >= 1 && during.files.length <= 2, `the JSON lists the kept segments while recording: ${during.files.join(', ')}`);
    const stopped = await recordings.stop(started.id);
    assert.equal(stopped.files.length, 2, stopped.files.join(', '));
    const onDisk = readdirSync(dir).filter((name) => name.endsWith('.mp4')).sort();
    assert.deepEqual(onDisk.map((name) => join(dir, name)), stopped.files);
    assert.ok(Number(/-(\d{5})\.mp4$/.exec(onDisk[0]!)![1]) >= 2, `the first segments were deleted: ${onDisk.join(', ')}`);
    assert.deepEqual(JSON.parse(readFileSync(stopped.metadataFile, 'utf8')).files, stopped.files);
    for (const file of stopped.files) checkPlayableFromZero(file, probeFile(file).tags.title!);
    await streams.close('bytes-keep');
  });

  test('segment_seconds with segment_bytes: whichever comes first (here the time)', async () => {
    await streams.open({ uri: 'test:video?size=320x240&rate=30', id: 'bytes-time' });
    const started = await recordings.start({ streamId: 'bytes-time', folder: folder('bytes-time'), segmentSeconds: 1, segmentBytes: 64 * 1024 * 1024 });
    await sleep(3800);
    const stopped = await recordings.stop(started.id);
    assert.ok(stopped.files.length >= 3, stopped.files.join(', '));
    for (const file of stopped.files.slice(0, -1)) {
      const video = probeFile(file).streams.find((s) => s.type === 'video')!;
      assert.ok(Math.abs(video.packets - 30) <= 1, `${file}: one second of frames; got ${video.packets}`);
    }
    await streams.close('bytes-time');
  });
});

describe('recordings cut short', () => {
  test('SIGKILL of the sidecar while recording: the partial MP4 is playable', async () => {
    const own = newToken();
    const victim = await startSidecar({ token: own });
    const client = new StreamsTestClient(victim.address, own);
    const recorder = new RecordingTestClient(victim.address, own);
    try {
      await client.open({ uri: testSource, id: 'doomed' });
      const started = await recorder.start({ streamId: 'doomed', path: join(folder('killed'), 'cut.mp4') });
      await sleep(3000);
      victim.child.kill('SIGKILL');
      await victim.exited;
      await sleep(1000); // the recorder sees the end of its input and closes the file
      const probed = probeFile(started.files[0]!);
      assert.ok(probed.durationSeconds > 1, `duration ${probed.durationSeconds}`);
      assert.ok(decodedFrames(started.files[0]!) > 30, 'its frames decode');
    } finally {
      client.shutdown();
      recorder.shutdown();
      victim.kill();
    }
  });

  test('a full disk (a 256 KiB tmpfs): the recording fails saying so, its file is playable, the stream goes on', async (t) => {
    const mountPoint = folder('tinyfs');
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      t.skip(`cannot mount a tmpfs here (needs root): ${mounted.stderr.trim()}`);
      return;
    }
    try {
      await streams.open({ uri: 'test:video?size=640x480&rate=30&pattern=testsrc2', id: 'full' });
      const watch = streams.watch('full', 200);
      const frames = streams.collect({ streamId: 'full', format: FrameFormat.FRAME_FORMAT_GRAY, width: 64 }, 1_000_000);
      const started = await recordings.start({ streamId: 'full', path: join(mountPoint, 'full.mkv'), quality: 1 });
      const failed = await waitForRecordingState(started.id, RecordingState.RECORDING_STATE_FAILED, 30_000);
      assert.match(failed.reason, /the disk is full/);
      assert.ok(existsSync(join(mountPoint, 'full.mkv')));
      assert.ok(probeFile(join(mountPoint, 'full.mkv')).streams[0]!.packets > 0, 'what was written plays');
      const before = frames.received();
      await sleep(1000);
      assert.ok(frames.received() > before, 'the stream goes on');
      frames.cancel();
      watch.call.cancel();
      await streams.close('full');
    } finally {
      spawnSync('umount', ['-l', mountPoint]);
    }
  });
});
