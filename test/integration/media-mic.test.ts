// Microphones through a real PulseAudio daemon: a tone played into a null sink is
// captured from the sink's monitor as `mic:` (there is no sound card on these machines;
// the monitor is a real PulseAudio source, captured by ffmpeg's pulse input).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startPulseAudio, type PulseServer } from './helpers/pulse';
import { newToken, type RunningSidecar, startSidecar } from './helpers/sidecar';
import { type AudioFrame, Device_Kind, SampleFormat, StreamsTestClient } from './helpers/streams';

let pulse: PulseServer;
let sidecar: RunningSidecar;
let client: StreamsTestClient;

before(async () => {
  pulse = startPulseAudio();
  const token = newToken();
  sidecar = await startSidecar({ token, env: { PULSE_RUNTIME_PATH: pulse.env.PULSE_RUNTIME_PATH, PULSE_SERVER: pulse.env.PULSE_SERVER } });
  client = new StreamsTestClient(sidecar.address, token);
});

after(() => {
  client?.shutdown();
  sidecar?.kill();
  pulse?.stop();
});

function samplesOf(frames: AudioFrame[]): Int16Array {
  const joined = Buffer.concat(frames.map((f) => Buffer.from(f.data)));
  return new Int16Array(joined.buffer, joined.byteOffset, joined.length / 2);
}

function risingZeroCrossingsPerSecond(samples: Int16Array, rate: number): number {
  const crossings: number[] = [];
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 && samples[i]! >= 0) crossings.push(i);
  return (crossings.length - 1) / ((crossings.at(-1)! - crossings[0]!) / rate);
}

describe('microphones (PulseAudio null sink monitor; no sound hardware here)', () => {
  test('ListDevices lists the PulseAudio sources as microphones', async () => {
    const { devices } = await client.listDevices();
    const mic = devices.find((d) => d.kind === Device_Kind.KIND_MICROPHONE && d.id === pulse.source);
    assert.ok(mic, `found: ${devices.map((d) => d.uri).join(', ')}`);
    assert.equal(mic.uri, `mic:${pulse.source}`);
  });

  test('a 1 kHz tone played into the sink arrives as PCM of that frequency and level, stamped with its capture time', async () => {
    const player = pulse.play(1000);
    try {
      await client.open({ uri: `mic:${pulse.source}?sample_rate=48000&channels=1`, id: 'mic' });
      // Until a whole second of frames has sound in it: the player may start after the capture.
      let loudInARow = 0;
      const { frames, error } = await client.collectAudio({ streamId: 'mic', sampleFormat: SampleFormat.SAMPLE_FORMAT_S16LE, frameMs: 20 }, 500, (frame) => {
        loudInARow = samplesOf([frame]).some((v) => Math.abs(v) > 2000) ? loudInARow + 1 : 0;
        return loudInARow >= 50;
      }).done;
      assert.equal(error, undefined);
      assert.equal(loudInARow, 50, `a second of the tone within ${frames.length} frames`);
      assert.ok(frames.every((f) => f.sampleRate === 48000 && f.channels === 1 && f.samples === 960), 'the rate, channels and frame size asked for');
      assert.ok(frames.every((f) => f.capturedAtUs > 0), 'PulseAudio stamps its capture time');
      // The last second, the whole of which holds the tone; its first frame may have started mid-way.
      const samples = samplesOf(frames.slice(-49));
      const frequency = risingZeroCrossingsPerSecond(samples, 48000);
      assert.ok(Math.abs(frequency - 1000) < 5, `1000 Hz; got ${frequency}`);
      const rms = Math.sqrt(samples.reduce((sum, v) => sum + (v / 32768) ** 2, 0) / samples.length);
      assert.ok(Math.abs(rms - 0.125 / Math.SQRT2) < 0.01, `the sine's level (rms 0.088); got ${rms}`);
      await client.close('mic');
    } finally {
      player.kill('SIGKILL');
    }
  });

  test('a microphone that does not exist: the stream fails with ffmpeg\'s reason, and its subscriber is told', async () => {
    await client.open({ uri: 'mic:nosuch.monitor', id: 'nomic', reconnect: { enabled: false, initialDelayMs: 0, maxDelayMs: 0, maxAttempts: 0 } });
    const { error } = await client.collectAudio({ streamId: 'nomic' }, 1).done;
    assert.equal(error?.code, 9, 'FAILED_PRECONDITION');
    assert.match(error!.details, /stream "nomic" failed: ffmpeg exited with code 1: nosuch\.monitor: Input\/output error/);
    await client.close('nomic');
  });
});
