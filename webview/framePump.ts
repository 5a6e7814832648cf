/**
 * Flow control of one tile's frames on their way to the webview: at most `maxInFlight`
 * frames posted and not yet painted; a frame that arrives meanwhile waits in a slot of
 * one, replaced by any newer frame (latest wins). A hidden or slow panel therefore
 * never builds a queue: memory stays at `maxInFlight + 1` frames per tile.
 */
export interface PumpedFrame {
  sequence: number;
}

export class FramePump<F extends PumpedFrame> {
  private readonly inFlight = new Set<number>();
  private waiting: F | undefined;
  /** Frames replaced in the waiting slot before they could be posted. */
  replaced = 0;
  posted = 0;

  constructor(
    private readonly post: (frame: F) => void,
    private readonly maxInFlight = 2,
  ) {}

  get pendingCount(): number {
    return this.inFlight.size + (this.waiting ? 1 : 0);
  }

  /** A frame from the sidecar. */
  offer(frame: F): void {
    if (this.inFlight.size < this.maxInFlight) {
      this.send(frame);
      return;
    }
    if (this.waiting) this.replaced++;
    this.waiting = frame;
  }

  /** The webview painted (or dropped) `sequence`: room for the next frame. */
  painted(sequence: number): void {
    if (!this.inFlight.delete(sequence)) return;
    const next = this.waiting;
    if (next) {
      this.waiting = undefined;
      this.send(next);
    }
  }

  /** Forgets what is in flight (the webview reloaded or the tile went away). */
  reset(): void {
    this.inFlight.clear();
    this.waiting = undefined;
  }

  private send(frame: F): void {
    this.inFlight.add(frame.sequence);
    this.posted++;
    this.post(frame);
  }
}
