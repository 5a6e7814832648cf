export interface RestartPolicyOptions {
  /** First delay; each crash in a row doubles it. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up after this many crashes within `windowMs`. */
  maxCrashes: number;
  windowMs: number;
}

export const defaultRestartPolicy: RestartPolicyOptions = {
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  maxCrashes: 5,
  windowMs: 3 * 60_000,
};

export type RestartDecision = { kind: 'restart'; delayMs: number; crashesInWindow: number } | { kind: 'give-up'; crashesInWindow: number };

/** Decides what to do after a crash: restart after 1, 2, 4 s… or give up after too many crashes too fast. */
export class RestartPolicy {
  private crashTimes: number[] = [];

  constructor(private readonly options: RestartPolicyOptions = defaultRestartPolicy) {}

  onCrash(now: number): RestartDecision {
    this.crashTimes = this.crashTimes.filter((time) => now - time < this.options.windowMs);
    this.crashTimes.push(now);
    const crashesInWindow = this.crashTimes.length;
    if (crashesInWindow >= this.options.maxCrashes) return { kind: 'give-up', crashesInWindow };
    const delayMs = Math.min(this.options.initialDelayMs * 2 ** (crashesInWindow - 1), this.options.maxDelayMs);
    return { kind: 'restart', delayMs, crashesInWindow };
  }

  /** A manual restart starts counting afresh. */
  reset(): void {
    this.crashTimes = [];
  }
}
