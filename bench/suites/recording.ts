// Recording and microphone figures: the CPU a copy-mode recording adds to a previewed
// 1080p H264 stream (against the preview alone, measured in the same run), and how
// long a tone played into PulseAudio takes to arrive as PCM at a gRPC subscriber.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { makeClip, fixtureDir } from '../../test/integration/helpers/media';
import { startPulseAudio } from '../../test/integration/helpers/pulse';
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
    const previewCpu = await cpuOver(sidecar.pid, seconds);
    const recording = await recordings.start({ streamId: 'rec', folder: fixtureDir(), container: 1, mode: 1 });
    await sleep(3000); // the decoder restarted with the recording's output
    const recordingCpu = await cpuOver(sidecar.pid, seconds);
    const stopped = await recordings.stop(recording.id);
    preview.cancel();
    return { previewCpu, recordingCpu, bytes: stopped.bytes, videoCodec: stopped.videoCodec };
  } finally {
    streams.shutdown();
    recordings.shutdown();
    sidecar.kill();
  }
}

/**
 * Plays bursts of a 1 kHz tone into a PulseAudio null sink (pacat, 10 ms latency,
 * written by us at real-time pace with silence in between) and times each from the
 * moment its first samples are written to the first PCM frame with sound in it.
 */
async function micLatencies(bursts: number) {
  const pulse = startPulseAudio();
  const token = newToken();
  const sidecar = await startSidecar({ token, env: { PULSE_RUNTIME_PATH: pulse.env.PULSE_RUNTIME_PATH, PULSE_SERVER: pulse.env.PULSE_SERVER } });
  const streams = new StreamsTestClient(sidecar.address, token);
  const rate = 48_000;
  const blockMs = 10;
  const block = (rate * blockMs) / 1000;
  const silence = Buffer.alloc(block * 2);
  const tone = Buffer.alloc(block * 2);
  for (let i = 0; i < block; i++) tone.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / rate)), i * 2);
  const player: ChildProcess = spawn('pacat', ['--playback', '--raw', '--format=s16le', `--rate=${rate}`, '--channels=1', '--latency-msec=10', `--device=${pulse.source.replace(/\.monitor$/, '')}`], { env: pulse.env, stdio: ['pipe', 'ignore', 'ignore'] });
  player.stdin!.on('error', () => undefined);
  let toneUntil = 0;
  let burstWrittenAt = 0;
  const began = Date.now();
  let written = 0;
  // Real-time pace: keep what has been written level with the clock, 20 ms ahead at most.
  const pacer = setInterval(() => {
    while (written * blockMs < Date.now() - began + 20) {
      const now = Date.now();
      const playingTone = now < toneUntil;
      if (playingTone && burstWrittenAt === 0) burstWrittenAt = now;
      player.stdin!.write(playingTone ? tone : silence);
      written++;
    }
  }, 5);
  const latencies: number[] = [];
  const captureToDelivery: number[] = [];
  try {
    await streams.open({ uri: `mic:${pulse.source}?sample_rate=${rate}&channels=1`, id: 'mic' });
    let waitingForBurst = false;
    const collection = streams.collectAudio({ streamId: 'mic', sampleFormat: SampleFormat.SAMPLE_FORMAT_S16LE, frameMs: 10, policy: 5 }, 1_000_000, (frame) => {
      const arrived = Date.now();
      captureToDelivery.push(arrived - frame.capturedAtUs / 1000);
      if (!waitingForBurst || burstWrittenAt === 0) return;
      const data = Buffer.from(frame.data);
      let peak = 0;
      for (let i = 0; i + 1 < data.length; i += 2) peak = Math.max(peak, Math.abs(data.readInt16LE(i)));
      if (peak > 2000) {
        latencies.push(arrived - burstWrittenAt);
        waitingForBurst = false;
      }
    });
    await sleep(2500); // the monitor source's first capture is slow; measure once it streams
    for (let i = 0; i < bursts; i++) {
      burstWrittenAt = 0;
      waitingForBurst = true;
      toneUntil = Date.now() + 200;
      await sleep(600);
    }
    collection.call.cancel();
  } finally {
    clearInterval(pacer);
    player.kill('SIGKILL');
    streams.shutdown();
    sidecar.kill();
    pulse.stop();
  }
  return { latencies, captureToDelivery: captureToDelivery.slice(100) };
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
      mic_capture_latency_ms: round(median(mic.latencies)),
      mic_capture_latency_p95_ms: round(percentile(mic.latencies, 95)),
      mic_capture_to_delivery_p50_ms: round(median(mic.captureToDelivery)),
      samples: { window_seconds: seconds, clip: '1920x1080 H264 30 fps, looped in real time, previewed as 640-wide JPEG', mic_bursts: mic.latencies.length },
      targets: { copy_record_cpu_overhead: '<= 0.1', mic_capture_latency_ms: '<= 60' },
    };
  },
};
