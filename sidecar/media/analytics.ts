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
