// Bad input and missing hardware against the real sidecar: each gets a clear gRPC
// status and a message that says what to fix, the sidecar keeps serving, and no
// ffmpeg is left behind. There is no camera and no GPU on these machines: the tests
// that need one say so in their names and check the error path.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { codecFixtures, fixtureDir, makeClip } from './helpers/media';
import { childrenOf, waitUntil } from './helpers/procfs';
import { newToken, startSidecar } from './helpers/sidecar';
import { BufferPolicy, FrameFormat, type GrpcError, StreamsTestClient, useStreamsSidecar, StreamState, waitForEvent } from './helpers/streams';

/** One sidecar for the file, started before its tests and killed after them. */
const rig = useStreamsSidecar();

const status = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, FAILED_PRECONDITION: 9, UNAUTHENTICATED: 16 };
const rejectsWith = (code: number, pattern: RegExp) => (error: GrpcError) => {
  assert.equal(error.code, code, `${error.code}: ${error.details}`);
  assert.match(error.details, pattern);
  return true;
};
const ffmpegChildren = () => childrenOf(rig.sidecar.pid).filter((p) => p.comm === 'ffmpeg' || p.comm === 'ffprobe');
const h264 = () => makeClip(codecFixtures[0].name, { codec: [...codecFixtures[0].args], format: codecFixtures[0].format });

describe('files that are not what they say', () => {
  test('random bytes named .mp4: INVALID_ARGUMENT naming what ffmpeg and the bytes say', async () => {
    const path = join(fixtureDir(), 'random.mp4');
    writeFileSync(path, Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919 + 13) % 251)));
    await assert.rejects(rig.client.probe(`file://${path}`), rejectsWith(status.INVALID_ARGUMENT, /random\.mp4 is not media ffmpeg can read: moov atom not found; Invalid data found when processing input; the file looks like binary data of no known media format \(first bytes 0d 97 26/));
    await assert.rejects(rig.client.open({ uri: `file://${path}` }), rejectsWith(status.INVALID_ARGUMENT, /not media/));
  });

  test('a text file: INVALID_ARGUMENT that quotes its first line', async () => {
    const path = join(fixtureDir(), 'notes.webm');
    writeFileSync(path, 'these are my notes about the model\nsecond line\n');
    await assert.rejects(rig.client.probe(path), rejectsWith(status.INVALID_ARGUMENT, /looks like text \("these are my notes about the model"\)/));
  });

  test('a WebM named .mp4 is WebM: detection goes by the bytes', async () => {
    const vp8 = codecFixtures[1];
    const path = join(fixtureDir(), 'really-webm.mp4');
    copyFileSync(makeClip(vp8.name, { codec: [...vp8.args], format: vp8.format }), path);
    const probe = await rig.client.probe(`file://${path}`);
    assert.equal(probe.container, 'matroska,webm');
    await rig.client.open({ uri: `file://${path}`, id: 'really-webm' });
    const { frames, ended } = await rig.client.collect({ streamId: 'really-webm', format: FrameFormat.FRAME_FORMAT_GRAY }, 100).done;
    assert.equal(ended, true);
    assert.equal(frames.length, 50);
    await rig.client.close('really-webm');
  });

  test('a truncated MP4 (its index never written): INVALID_ARGUMENT', async () => {
    const whole = readFileSync(makeClip('moov-at-end.mp4', { codec: ['-c:v', 'libx264', '-preset', 'ultrafast'], format: 'mp4', seconds: 2 }));
    const path = join(fixtureDir(), 'truncated.mp4');
    writeFileSync(path, whole.subarray(0, Math.floor(whole.length / 2)));
    await assert.rejects(rig.client.open({ uri: `file://${path}` }), rejectsWith(status.INVALID_ARGUMENT, /truncated\.mp4 is not media ffmpeg can read: .*moov atom not found/));
  });

  test('a truncated WebM plays what it has and ends', async () => {
    const whole = readFileSync(makeClip('whole.webm', { codec: ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M'], format: 'webm', seconds: 4 }));
    const path = join(fixtureDir(), 'truncated.webm');
    writeFileSync(path, whole.subarray(0, Math.floor(whole.length / 2)));
    await rig.client.open({ uri: `file://${path}`, id: 'truncated-webm' });
    const { frames, ended, error } = await rig.client.collect({ streamId: 'truncated-webm', format: FrameFormat.FRAME_FORMAT_GRAY, policy: BufferPolicy.BUFFER_POLICY_WAIT }, 1000).done;
    assert.equal(error, undefined);
    assert.equal(ended, true);
    assert.ok(frames.length > 10 && frames.length < 100, `${frames.length} of 100 frames`);
    const [stream] = (await rig.client.list()).filter((s) => s.id === 'truncated-webm');
    assert.equal(stream!.state, StreamState.STREAM_STATE_ENDED);
    await rig.client.close('truncated-webm');
  });

  test('a missing file is NOT_FOUND; a folder is INVALID_ARGUMENT', async () => {
    await assert.rejects(rig.client.open({ uri: 'file:///nonexistent/clip.mp4' }), rejectsWith(status.NOT_FOUND, /\/nonexistent\/clip\.mp4 does not exist/));
    await assert.rejects(rig.client.probe(fixtureDir()), rejectsWith(status.INVALID_ARGUMENT, /is not a file/));
  });
});

describe('bad requests', () => {
  test('bad URIs, unknown streams and bad subscription options', async () => {
    await assert.rejects(rig.client.open({ uri: 'gopher://x/y' }), rejectsWith(status.INVALID_ARGUMENT, /unknown source scheme "gopher:"/));
    await assert.rejects(rig.client.open({ uri: 'test:video?size=big' }), rejectsWith(status.INVALID_ARGUMENT, /WIDTHxHEIGHT/));
    await assert.rejects(rig.client.open({ uri: 'test:', id: 'no spaces please' }), rejectsWith(status.INVALID_ARGUMENT, /stream id/));
    await assert.rejects(rig.client.close('nope'), rejectsWith(status.NOT_FOUND, /no open stream "nope"/));
    const missing = await rig.client.collect({ streamId: 'nope' }, 1).done;
    assert.equal(missing.error?.code, status.NOT_FOUND);
    await rig.client.open({ uri: 'test:video?size=320x240', id: 'bad-options' });
    const quality = await rig.client.collect({ streamId: 'bad-options', jpegQuality: 50 }, 1).done;
    assert.equal(quality.error?.code, status.INVALID_ARGUMENT);
    assert.match(quality.error!.details, /jpeg_quality must be 2–31/);
    await assert.rejects(rig.client.open({ uri: 'test:video?size=640x360', id: 'bad-options' }), rejectsWith(status.FAILED_PRECONDITION, /already open with test:video\?size=320x240/));
    await rig.client.close('bad-options');
  });

  test('a call without the token is UNAUTHENTICATED', async () => {
    const anonymous = new StreamsTestClient(rig.sidecar.address, undefined);
    await assert.rejects(anonymous.list(), rejectsWith(status.UNAUTHENTICATED, /authorization/));
    anonymous.shutdown();
  });
});

describe('devices that are not there', () => {
  test('no camera on this machine: ListDevices says why, and opening one fails with the device named', async () => {
    const devices = await rig.client.listDevices();
    assert.ok(devices.notes.some((note) => /no cameras/.test(note)), devices.notes.join('; '));
    await rig.client.open({ uri: 'camera:/dev/video0', id: 'no-camera', reconnect: { enabled: false, initialDelayMs: 0, maxDelayMs: 0, maxAttempts: 0 } });
    const { error } = await rig.client.collect({ streamId: 'no-camera' }, 1).done;
    assert.equal(error?.code, status.FAILED_PRECONDITION);
    assert.match(error!.details, /\/dev\/video0.*(No such file or directory|cannot open)/i);
    await rig.client.close('no-camera');
  });

  test('no GPU on this machine: vaapi falls back to software and the stream says so', async () => {
    await rig.client.open({ uri: `file://${h264()}`, id: 'vaapi', decode: { hwaccel: 'vaapi' } });
    const { frames, error } = await rig.client.collect({ streamId: 'vaapi', format: FrameFormat.FRAME_FORMAT_GRAY, policy: BufferPolicy.BUFFER_POLICY_WAIT }, 100).done;
    assert.equal(error, undefined);
    assert.equal(frames.length, 50, 'every frame, decoded in software');
    const [stream] = (await rig.client.list()).filter((s) => s.id === 'vaapi');
    assert.match(stream!.decoder, /^h264 \(software: hardware decoding with vaapi failed to start, fell back\)$/);
    await rig.client.close('vaapi');
  });

  test('no GPU on this machine: auto decodes in software and says there is no device', async () => {
    await rig.client.open({ uri: `file://${h264()}`, id: 'auto' });
    const watch = rig.client.watch('auto', 1000);
    await rig.client.collect({ streamId: 'auto', format: FrameFormat.FRAME_FORMAT_GRAY }, 5).done;
    await waitForEvent(watch.events, (e) => /no hardware decoder device/.test(e.stream?.decoder ?? ''), 5000, 'the decoder to report software decoding');
    watch.call.cancel();
    await rig.client.close('auto');
  });
});

describe('no ffmpeg left behind', () => {
  test('the idle timeout stops the decoder of a stream nobody reads', async () => {
    await rig.client.open({ uri: 'test:video?size=320x240', id: 'idle', idleTimeoutMs: 300 });
    const watch = rig.client.watch('idle', 1000);
    await rig.client.collect({ streamId: 'idle', format: FrameFormat.FRAME_FORMAT_GRAY }, 3).done;
    await waitUntil(() => ffmpegChildren().length === 0, 5000, () => `ffmpeg still running: ${JSON.stringify(ffmpegChildren())}`);
    await waitForEvent(watch.events, (e) => e.stream?.state === StreamState.STREAM_STATE_IDLE && e.stream.reason === 'no subscribers', 5000, 'idle');
    watch.call.cancel();
    await rig.client.close('idle');
  });

  test('SIGTERM with streams open ends every ffmpeg', async () => {
    const token = newToken();
    const other = await startSidecar({ token });
    const otherClient = new StreamsTestClient(other.address, token);
    for (const id of ['a', 'b', 'c']) {
      await otherClient.open({ uri: 'test:video?size=320x240', id });
      otherClient.collect({ streamId: id, format: FrameFormat.FRAME_FORMAT_GRAY }, 1_000_000);
    }
    await waitUntil(() => childrenOf(other.pid).filter((p) => p.comm === 'ffmpeg').length === 3, 10_000, () => 'three ffmpeg processes');
    const decoders = childrenOf(other.pid).map((p) => p.pid);
    other.child.kill('SIGTERM');
    const exit = await other.waitForExit(10_000);
    otherClient.shutdown();
    assert.equal(exit.code, 0);
    for (const pid of decoders) assert.throws(() => process.kill(pid, 0), `ffmpeg ${pid} outlived the sidecar`);
  });
});
