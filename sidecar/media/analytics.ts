/** Rolling figures over a time window; memory is bounded by `capacity` samples. */

interface Sample {
  atUs: number;
  value: number;
}

class Window {
  private samples: Sample[] = [];
  private start = 0;

  constructor(
    readonly windowMs: number,
    private readonly capacity: number,
  ) {}

  add(value: number, atUs: number): void {
    this.samples.push({ atUs, value });
    if (this.samples.length - this.start > this.capacity) this.start++;
    this.compact();
  }

  /** The samples of the last window ending at `atUs`. */
  recent(atUs: number): Sample[] {
    const from = atUs - this.windowMs * 1000;
    while (this.start < this.samples.length && this.samples[this.start]!.atUs < from) this.start++;
    this.compact();
    return this.samples.slice(this.start);
  }

  private compact(): void {
    if (this.start > 1024 && this.start * 2 > this.samples.length) {
      this.samples = this.samples.slice(this.start);
      this.start = 0;
    }
  }
}

/** Events and bytes per second. */
export class RateWindow {
  private readonly counts: Window;
  private readonly bytes: Window;

  constructor(windowMs: number, capacity = 4096) {
    this.counts = new Window(windowMs, capacity);
    this.bytes = new Window(windowMs, capacity);
  }

  add(count: number, byteCount: number, atUs: number): void {
    this.counts.add(count, atUs);
    this.bytes.add(byteCount, atUs);
  }

  perSecond(atUs: number): number {
    return sum(this.counts.recent(atUs)) / (this.counts.windowMs / 1000);
  }

  bytesPerSecond(atUs: number): number {
    return sum(this.bytes.recent(atUs)) / (this.bytes.windowMs / 1000);
  }
}

export interface LatencySummary {
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

/** Latency percentiles over the window. */
export class LatencyWindow {
  private readonly window: Window;

  constructor(windowMs: number, capacity = 4096) {
    this.window = new Window(windowMs, capacity);
  }

  add(ms: number, atUs: number): void {
    this.window.add(ms, atUs);
  }

  summary(atUs: number): LatencySummary {
    const values = this.window
      .recent(atUs)
      .map((sample) => sample.value)
      .sort((a, b) => a - b);
    if (values.length === 0) return { p50Ms: 0, p95Ms: 0, maxMs: 0 };
    return { p50Ms: percentile(values, 0.5), p95Ms: percentile(values, 0.95), maxMs: values[values.length - 1]! };
  }
}

const sum = (samples: Sample[]) => samples.reduce((total, sample) => total + sample.value, 0);

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank]!;
}

export interface ChannelLevelFigures {
  rmsDbfs: number;
  peakDbfs: number;
}

/** dBFS of a linear amplitude (1.0 = full scale); silence bottoms out at -120. */
export const toDbfs = (amplitude: number) => (amplitude > 1e-6 ? 20 * Math.log10(amplitude) : -120);

interface LevelSample {
  atUs: number;
  sumSquares: number[];
  peak: number[];
  samples: number;
}

/**
 * Audio levels per channel over a time window, and the clipped samples since the
 * stream opened, from interleaved PCM (s16le or f32le). A typed-array view reads the
 * samples in place: levels need every sample, and at 48 kHz stereo that is
 * 96,000 multiply-adds a second.
 */
export class AudioLevels {
  private samples: LevelSample[] = [];
  clippedSamples = 0;

  constructor(private readonly windowMs: number) {}

  add(data: Buffer, format: 's16le' | 'f32le', channels: number, atUs: number): void {
    const floats = format === 'f32le';
    const bytes = floats ? 4 : 2;
    const count = Math.floor(data.length / bytes);
    // A view needs aligned bytes; a frame cut at an odd offset of a pipe chunk is copied once.
    const aligned = data.byteOffset % bytes === 0 ? data : new Uint8Array(data);
    const view = floats ? new Float32Array(aligned.buffer, aligned.byteOffset, count) : new Int16Array(aligned.buffer, aligned.byteOffset, count);
    const scale = floats ? 1 : 1 / 32768;
    const sumSquares = new Array<number>(channels).fill(0);
    const peak = new Array<number>(channels).fill(0);
    let clipped = 0;
    for (let i = 0; i < view.length; i++) {
      const raw = view[i]!;
      const value = raw * scale;
      const channel = i % channels;
      sumSquares[channel]! += value * value;
      const magnitude = Math.abs(value);
      if (magnitude > peak[channel]!) peak[channel] = magnitude;
      if (floats ? magnitude >= 1 : raw >= 32767 || raw <= -32768) clipped++;
    }
    this.clippedSamples += clipped;
    this.samples.push({ atUs, sumSquares, peak, samples: Math.floor(view.length / channels) });
    this.trim(atUs);
  }

  /** Levels per channel over the window ending at `atUs`; empty when no audio arrived in it. */
  levels(atUs: number): ChannelLevelFigures[] {
    this.trim(atUs);
    if (this.samples.length === 0) return [];
    const channels = this.samples[this.samples.length - 1]!.peak.length;
    return Array.from({ length: channels }, (_, channel) => {
      let sumSquares = 0;
      let count = 0;
      let peak = 0;
      for (const sample of this.samples) {
        if (sample.peak.length !== channels) continue;
        sumSquares += sample.sumSquares[channel]!;
        count += sample.samples;
        peak = Math.max(peak, sample.peak[channel]!);
      }
      return { rmsDbfs: toDbfs(Math.sqrt(sumSquares / Math.max(1, count))), peakDbfs: toDbfs(peak) };
    });
  }

  private trim(atUs: number): void {
    const from = atUs - this.windowMs * 1000;
    let drop = 0;
    while (drop < this.samples.length && this.samples[drop]!.atUs < from) drop++;
    if (drop > 0) this.samples = this.samples.slice(drop);
  }
}
