// Audio through the Streams service: test tones, audio files in several codecs,
// resampling and channel mixing by ffmpeg, levels, A/V from one decode, and the
// errors for media a source does not have. Real ffmpeg; the files are made here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fixtureDir } from './helpers/media';
import { childrenOf } from './helpers/procfs';
import { sleep } from './helpers/sidecar';
import { type AudioFrame, FrameFormat, SampleFormat, StreamState, useStreamsSidecar, waitForEvent } from './helpers/streams';

/** One sidecar for the file, started before its tests and killed after them. */
const rig = useStreamsSidecar();

/** The samples of channel `channel` as numbers in [-1, 1]. */
function channelSamples(frames: AudioFrame[], channel: number): number[] {
  const out: number[] = [];
  for (const frame of frames) {
    const data = Buffer.from(frame.data);
    const floats = frame.sampleFormat === SampleFormat.SAMPLE_FORMAT_F32LE;
    const step = floats ? 4 : 2;
    for (let i = channel * step; i + step <= data.length; i += step * frame.channels) out.push(floats ? data.readFloatLE(i) : data.readInt16LE(i) / 32768);
  }
  return out;
}

/** The frequency of a tone from its rising zero crossings. */
function toneFrequency(samples: number[], sampleRate: number): number {
  let first = -1;
  let last = -1;
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i - 1]! < 0 && samples[i]! >= 0) {
      if (first < 0) first = i;
      else crossings++;
      last = i;
    }
  }
  return crossings / ((last - first) / sampleRate);
}

const rms = (samples: number[]) => Math.sqrt(samples.reduce((sum, v) => sum + v * v, 0) / samples.length);

function makeAudio(name: string, codec: string[], format: string): string {
  const path = join(fixtureDir(), name);
  const run = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=f=440:r=44100:duration=2', '-ac', '2', ...codec, '-f', format, '-y', path]);
  assert.equal(run.status, 0, run.stderr?.toString());
  return path;
}

/** Samples per channel in ffmpeg's own decode of `path` at `rate` Hz: the reference count. */
function referenceSampleCount(path: string, rate: number, channels: number): number {
  const run = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', path, '-vn', '-ar', String(rate), '-ac', String(channels), '-f', 'f32le', '-'], { maxBuffer: 1 << 26 });
  assert.equal(run.status, 0, run.stderr?.toString());
  return run.stdout.length / 4 / channels;
}

describe('audio', () => {
  test('a test tone as 16 kHz mono s16le in 20 ms frames: exact frame sizes, steady timestamps, its frequency and level', async () => {
    await rig.client.open({ uri: 'test:audio?tone=440&sample_rate=48000&channels=2', id: 'tone' });
    const { frames, error } = await rig.client.collectAudio({ streamId: 'tone', sampleFormat: SampleFormat.SAMPLE_FORMAT_S16LE, sampleRate: 16000, channels: 1, frameMs: 20 }, 50).done;
    assert.equal(error, undefined);
    assert.equal(frames.length, 50);
    for (const frame of frames) {
      assert.deepEqual([frame.sampleRate, frame.channels, frame.samples, frame.data.length], [16000, 1, 320, 640]);
      assert.ok(frame.capturedAtUs > 0, 'a test tone says when it was captured');
    }
    frames.slice(1).forEach((frame, i) => {
      assert.equal(frame.sequence, frames[i]!.sequence + 1);
      assert.ok(Math.abs(frame.ptsUs - frames[i]!.ptsUs - 20_000) < 2_000, `20 ms between frames; got ${frame.ptsUs - frames[i]!.ptsUs} µs`);
    });
    const samples = channelSamples(frames.slice(5), 0);
    assert.ok(Math.abs(toneFrequency(samples, 16000) - 440) < 3, `440 Hz; got ${toneFrequency(samples, 16000)}`);
    // lavfi's sine has amplitude 1/8: RMS 0.0884 (-21.1 dBFS).
    assert.ok(Math.abs(rms(samples) - 0.125 / Math.SQRT2) < 0.005, `rms ${rms(samples)}`);
    await rig.client.close('tone');
  });

  test('audio levels and the sample rate are in the stream analytics', async () => {
    await rig.client.open({ uri: 'test:audio?tone=1000', id: 'levels' });
    const watch = rig.client.watch('levels', 200);
    const collection = rig.client.collectAudio({ streamId: 'levels', sampleFormat: SampleFormat.SAMPLE_FORMAT_F32LE }, 1_000_000);
    const event = await waitForEvent(watch.events, (e) => (e.analytics?.audio?.channels.length ?? 0) === 2, 10_000, 'audio levels');
    const audio = event.analytics!.audio!;
    assert.equal(audio.sampleRate, 48000);
    for (const level of audio.channels) {
      assert.ok(Math.abs(level.rmsDbfs - -21.07) < 0.5, `rms ${level.rmsDbfs} dBFS`);
      assert.ok(Math.abs(level.peakDbfs - -18.06) < 0.5, `peak ${level.peakDbfs} dBFS`);
    }
    assert.equal(audio.clippedSamples, 0);
    collection.call.cancel();
    watch.call.cancel();
    await rig.client.close('levels');
  });

  for (const { name, codec, format } of [
    { name: 'tone.mp3', codec: ['-c:a', 'libmp3lame', '-b:a', '128k'], format: 'mp3' },
    { name: 'tone.m4a', codec: ['-c:a', 'aac', '-b:a', '128k'], format: 'mp4' },
    { name: 'tone.opus', codec: ['-c:a', 'libopus', '-b:a', '96k'], format: 'ogg' },
    { name: 'tone.flac', codec: ['-c:a', 'flac'], format: 'flac' },
    { name: 'tone.wav', codec: ['-c:a', 'pcm_s16le'], format: 'wav' },
  ]) {
    test(`${name}: decoded and resampled to 48 kHz mono f32le, as many samples as ffmpeg's own decode, the tone intact`, async () => {
      const path = makeAudio(name, codec, format);
      await rig.client.open({ uri: path, id: name });
      const { frames, error, ended } = await rig.client.collectAudio({ streamId: name, sampleFormat: SampleFormat.SAMPLE_FORMAT_F32LE, sampleRate: 48000, channels: 1, frameMs: 50 }, 1_000_000).done;
      assert.equal(error, undefined);
      assert.equal(ended, true, 'a file ends');
      const total = frames.reduce((sum, f) => sum + f.samples, 0);
      assert.equal(total, referenceSampleCount(path, 48000, 1));
      assert.ok(frames.slice(0, -1).every((f) => f.samples === 2400 && f.data.length === 2400 * 4), 'every frame but the last is 50 ms');
      assert.ok(frames.slice(1).every((f, i) => f.ptsUs > frames[i]!.ptsUs), 'timestamps increase');
      const frequency = toneFrequency(channelSamples(frames.slice(2, -2), 0), 48000);
      assert.ok(Math.abs(frequency - 440) < 3, `440 Hz; got ${frequency}`);
      await rig.client.close(name);
    });
  }

  test('one decode gives video and audio of a test pattern with a tone, in step', async () => {
    await rig.client.open({ uri: 'test:video?size=320x240&rate=30&tone=1000', id: 'av' });
    const watch = rig.client.watch('av', 250);
    const video = rig.client.collect({ streamId: 'av', format: FrameFormat.FRAME_FORMAT_GRAY }, 45);
    const audio = rig.client.collectAudio({ streamId: 'av', sampleRate: 48000, channels: 2 }, 75);
    await waitForEvent(watch.events, (e) => e.stream?.subscribers === 2 && e.stream.state === StreamState.STREAM_STATE_LIVE, 10_000, 'both subscribers live');
    // The decoder restarts once to add the audio output; then one ffmpeg decodes both.
    const ffmpegCount = () => childrenOf(rig.sidecar.pid).filter((p) => p.comm === 'ffmpeg').length;
    const deadline = Date.now() + 5000;
    while (ffmpegCount() !== 1 && Date.now() < deadline) await sleep(100);
    assert.equal(ffmpegCount(), 1, 'one ffmpeg decodes both');
    const [v, a] = await Promise.all([video.done, audio.done]);
    assert.equal(v.error, undefined);
    assert.equal(a.error, undefined);
    assert.equal(v.frames.length, 45);
    assert.equal(a.frames.length, 75);
    // Both are stamped with the capture clock: their first timestamps are within a video frame.
    assert.ok(Math.abs(v.frames[0]!.capturedAtUs - a.frames[0]!.capturedAtUs) < 100_000, 'first video and audio frames captured together');
    const event = await waitForEvent(watch.events, (e) => e.analytics?.audio !== undefined && (e.analytics.audio.channels.length ?? 0) > 0, 5000, 'A/V analytics');
    assert.ok(Math.abs(event.analytics!.audio!.avOffsetMs) < 34, `A/V offset within one frame; got ${event.analytics!.audio!.avOffsetMs} ms`);
    watch.call.cancel();
    await rig.client.close('av');
  });

  test('asking a source for media it does not have is INVALID_ARGUMENT naming what it has; the stream goes on', async () => {
    await rig.client.open({ uri: 'test:audio?tone=440', id: 'only-audio' });
    const { error } = await rig.client.collect({ streamId: 'only-audio', format: FrameFormat.FRAME_FORMAT_JPEG }, 1).done;
    assert.equal(error?.code, 3);
    assert.match(error!.details, /has no video stream to decode \(found: audio/);
    const { frames } = await rig.client.collectAudio({ streamId: 'only-audio' }, 3).done;
    assert.equal(frames.length, 3);
    await rig.client.close('only-audio');

    await rig.client.open({ uri: 'test:video?size=160x120', id: 'only-video' });
    const audio = await rig.client.collectAudio({ streamId: 'only-video' }, 1).done;
    assert.equal(audio.error?.code, 3);
    assert.match(audio.error!.details, /has no audio stream to decode \(found: video rawvideo/);
    await rig.client.close('only-video');
  });

  test('bad audio requests name the field and what it accepts', async () => {
    await rig.client.open({ uri: 'test:audio?tone=440', id: 'bad' });
    const cases: Array<[object, RegExp]> = [
      [{ frameMs: 5 }, /frame_ms must be 10–100; got 5/],
      [{ channels: 6 }, /channels must be 0 \(the source's\), 1 or 2; got 6/],
      [{ sampleRate: 100 }, /sample_rate must be 0 \(the source's\) or 8000–192000 Hz; got 100/],
      [{ sampleFormat: 9 }, /unknown sample format 9/],
    ];
    for (const [request, message] of cases) {
      const { error } = await rig.client.collectAudio({ streamId: 'bad', ...request }, 1).done;
      assert.equal(error?.code, 3, JSON.stringify(request));
      assert.match(error!.details, message);
    }
    const missing = await rig.client.collectAudio({ streamId: 'nope' }, 1).done;
    assert.equal(missing.error?.code, 5);
    await rig.client.close('bad');
  });
});
