// Recording and microphone figures: the CPU a copy-mode recording adds to a previewed
// 1080p H264 stream (against the preview alone, measured in the same run), and how
// long a tone played into PulseAudio takes to arrive as PCM at a gRPC subscriber.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { makeClip, fixtureDir } from '../../test/integration/helpers/media';
import { type PulseServer, startPulseAudio } from '../../test/integration/helpers/pulse';
import { RecordingTestClient } from '../../test/integration/helpers/recordings';
import { newToken, sleep, startSidecar } from '../../test/integration/helpers/sidecar';
import { FrameFormat, SampleFormat, StreamsTestClient } from '../../test/integration/helpers/streams';
import type { BenchSuite } from '../run';
import { median, percentile, round } from '../stats';

const ticksPerSecond = 100; // USER_HZ on Linux

/** CPU seconds of a process and all its descendants, living and reaped. */
function treeCpuSeconds(pid: number): number {
  const stat = (id: number) => readFileSync(`/proc/${id}/stat`, 'utf8').split(') ')[1]!.split(' ');
  let total = 0;
  const visit = (id: number) => {
    let fields: string[];
    try {
      fields = stat(id);
    } catch {
      return; // exited meanwhile: its time is in its parent's cutime now
    }
    // After "pid (comm) ": state is field 0, utime 11, stime 12, cutime 13, cstime 14.
    total += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    for (const child of childrenOf(id)) visit(child);
  };
  visit(pid);
  return total / ticksPerSecond;
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      children.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // the thread ended
    }
  }
  return children;
}

async function cpuOver(pid: number, seconds: number): Promise<number> {
  const before = treeCpuSeconds(pid);
  await sleep(seconds * 1000);
  return treeCpuSeconds(pid) - before;
}

async function copyRecordingOverhead(seconds: number) {
  const clip = makeClip('bench-rec-1080p.mp4', {
    codec: ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p'],
    format: 'mp4',
    pattern: 'testsrc2',
    size: '1920x1080',
    rate: 30,
    seconds: 10,
  });
  const token = newToken();
  const sidecar = await startSidecar({ token });
  const streams = new StreamsTestClient(sidecar.address, token);
  const recordings = new RecordingTestClient(sidecar.address, token);
  try {
    // A live-paced 1080p30 H264 stream, previewed as 640-wide JPEG.
    await streams.open({ uri: `file://${clip}?realtime=1&loop=1`, id: 'rec' });
    const preview = streams.collect({ streamId: 'rec', format: FrameFormat.FRAME_FORMAT_JPEG, width: 640 }, 1_000_000, undefined, { keepFrames: false });
    await sleep(3000);
    const framesBefore = preview.received();
    const previewCpu = await cpuOver(sidecar.pid, seconds);
    const previewFrames = preview.received() - framesBefore;
    const recording = await recordings.start({ streamId: 'rec', folder: fixtureDir(), container: 1, mode: 1 });
    await sleep(3000); // the decoder restarted with the recording's output
    const framesWhileRecording = preview.received();
    const recordingCpu = await cpuOver(sidecar.pid, seconds);
    const recordingFrames = preview.received() - framesWhileRecording;
    const stopped = await recordings.stop(recording.id);
    preview.cancel();
    return { previewCpu, recordingCpu, previewFrames, recordingFrames, bytes: stopped.bytes, videoCodec: stopped.videoCodec };
  } finally {
    streams.shutdown();
    recordings.shutdown();
    sidecar.kill();
  }
}

/** PCM s16le bursts into a PulseAudio sink through pacat, written at real-time pace: silence, then a tone on request. */
async function startTonePlayer(pulse: PulseServer, rate: number) {
  const blockMs = 10;
  const block = (rate * blockMs) / 1000;
  const silence = Buffer.alloc(block * 2);
  const tone = Buffer.alloc(block * 2);
  for (let i = 0; i < block; i++) tone.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / rate)), i * 2);
  const sink = pulse.source.replace(/\.monitor$/, '');
  const player: ChildProcess = spawn('pacat', ['--playback', '--raw', '--format=s16le', `--rate=${rate}`, '--channels=1', '--latency-msec=5', '-v', `--device=${sink}`], { env: pulse.env, stdio: ['pipe', 'ignore', 'pipe'] });
  player.stdin!.on('error', () => undefined);
  // The pace starts when the stream exists: written ahead of what plays, audio waits in pipes.
  const began = await new Promise<number>((resolve, reject) => {
    let said = '';
    let connected = false;
    player.stderr!.on('data', (chunk: Buffer) => {
      if (connected) return;
      said += chunk.toString();
      if (/Connected to device/.test(said)) {
        connected = true;
        resolve(Date.now());
      }
    });
    player.once('exit', (code) => reject(new Error(`pacat exited with ${code}: ${said}`)));
  });
  let toneUntil = 0;
  let toneStartedAt = 0;
  let written = 0;
  // Samples are written `leadMs` before they are due, so that the stream never runs dry:
  // a block written at `t` plays at `t + leadMs` by the stream's clock.
  const leadMs = 15;
  const pacer = setInterval(() => {
    while (written * blockMs < Date.now() - began + leadMs) {
      const now = Date.now();
      const playing = now < toneUntil;
      if (playing && toneStartedAt === 0) toneStartedAt = began + written * blockMs;
      player.stdin!.write(playing ? tone : silence);
      written++;
    }
  }, 5);
  return {
    /** Plays a burst of `ms`. */
    burst(ms: number): void {
      toneStartedAt = 0;
      toneUntil = Date.now() + ms;
    },
    /** When the burst's first samples play, by the stream's clock (0 until they are written). */
    get toneStartedAt() {
      return toneStartedAt;
    },
    stop() {
      clearInterval(pacer);
      player.kill('SIGKILL');
    },
  };
}

const loud = (pcm: Buffer) => {
  for (let i = 0; i + 1 < pcm.length; i += 2) if (Math.abs(pcm.readInt16LE(i)) > 2000) return true;
  return false;
};

/** Times bursts from the moment their first samples play to the first captured PCM with sound in it. */
async function timeBursts(player: Awaited<ReturnType<typeof startTonePlayer>>, bursts: number, heard: { waiting: boolean; latencies: number[] }) {
  for (let i = 0; i < bursts; i++) {
    heard.waiting = true;
    player.burst(200);
    await sleep(600);
    heard.waiting = false;
  }
}

/**
 * Tone played into PulseAudio → PCM delivered by the sidecar to a gRPC subscriber, and
 * the same bursts captured by PulseAudio's own `parec` in the same run (the baseline:
 * what the sound server's path costs before ffmpeg and the sidecar see a sample).
 */
async function micLatencies(bursts: number) {
  const pulse = startPulseAudio();
  const rate = 48_000;
  const token = newToken();
  const sidecar = await startSidecar({ token, env: { PULSE_RUNTIME_PATH: pulse.env.PULSE_RUNTIME_PATH, PULSE_SERVER: pulse.env.PULSE_SERVER } });
  const streams = new StreamsTestClient(sidecar.address, token);
  const player = await startTonePlayer(pulse, rate);
  const sidecarHeard = { waiting: false, latencies: [] as number[] };
  const baselineHeard = { waiting: false, latencies: [] as number[] };
  const captureToDelivery: number[] = [];
  const onPcm = (heard: typeof sidecarHeard, pcm: Buffer) => {
    if (!heard.waiting || player.toneStartedAt === 0 || !loud(pcm)) return;
    heard.latencies.push(Date.now() - player.toneStartedAt);
    heard.waiting = false;
  };
  try {
    await streams.open({ uri: `mic:${pulse.source}?sample_rate=${rate}&channels=1`, id: 'mic' });
    const collection = streams.collectAudio({ streamId: 'mic', sampleFormat: SampleFormat.SAMPLE_FORMAT_S16LE, frameMs: 10, policy: 5 }, 1_000_000, (frame) => {
      captureToDelivery.push(Date.now() - frame.capturedAtUs / 1000);
      onPcm(sidecarHeard, Buffer.from(frame.data));
    });
    await sleep(2500); // the monitor's first capture is slow: measure once it streams
    await timeBursts(player, bursts, sidecarHeard);
    collection.call.cancel();
    const parec = spawn('parec', ['--raw', '--format=s16le', `--rate=${rate}`, '--channels=1', '--latency-msec=10', `--device=${pulse.source}`], { env: pulse.env, stdio: ['ignore', 'pipe', 'ignore'] });
    parec.stdout!.on('data', (pcm: Buffer) => onPcm(baselineHeard, pcm));
    await sleep(2500);
    await timeBursts(player, bursts, baselineHeard);
    parec.kill('SIGKILL');
  } finally {
    player.stop();
    streams.shutdown();
    sidecar.kill();
    pulse.stop();
  }
  return { sidecar: sidecarHeard.latencies, baseline: baselineHeard.latencies, captureToDelivery: captureToDelivery.slice(100) };
}

export const recordingSuite: BenchSuite = {
  name: 'recording',
  description: 'CPU a copy-mode recording adds to a previewed 1080p H264 stream; tone played into PulseAudio → PCM delivered',
  async run() {
    const seconds = 20;
    const copy = await copyRecordingOverhead(seconds);
    const mic = await micLatencies(15);
    return {
      copy_record_cpu_overhead: round((copy.recordingCpu - copy.previewCpu) / copy.previewCpu, 3),
      preview_cpu_seconds_per_minute: round((copy.previewCpu * 60) / seconds, 2),
      preview_and_copy_record_cpu_seconds_per_minute: round((copy.recordingCpu * 60) / seconds, 2),
      recorded_bytes: copy.bytes,
      preview_frames_alone: copy.previewFrames,
      preview_frames_while_recording: copy.recordingFrames,
      mic_capture_latency_ms: round(median(mic.sidecar)),
      mic_capture_latency_p95_ms: round(percentile(mic.sidecar, 95)),
      parec_capture_latency_ms: round(median(mic.baseline)),
      mic_latency_added_by_sidecar_ms: round(median(mic.sidecar) - median(mic.baseline)),
      mic_capture_to_delivery_p50_ms: round(median(mic.captureToDelivery)),
      samples: { window_seconds: seconds, clip: '1920x1080 H264 30 fps, looped in real time, previewed as 640-wide JPEG', mic_bursts: mic.sidecar.length, parec_bursts: mic.baseline.length },
      targets: { copy_record_cpu_overhead: '<= 0.1', mic_capture_latency_ms: '<= 60' },
    };
  },
};
