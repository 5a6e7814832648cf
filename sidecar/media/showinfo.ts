/**
 * Per-frame timestamps come from ffmpeg's showinfo filters, one per output, named
 * `showinfo@o<i>`: each prints a line per frame on stderr, e.g.
 *   [showinfo@o0 @ 0x55c0…] [info] n:   3 pts:   3003 pts_time:0.1001 pos:  12345 fmt:rgb24 …
 * after announcing its time base:
 *   [showinfo@o0 @ 0x55c0…] [info] config in time_base: 1/30000, frame_rate: 30000/1001
 * The frame's bytes arrive on that output's pipe; the two are paired in order.
 * Audio outputs have `ashowinfo@a<i>`, whose lines also give the rate (the time base
 * of their pts, set by aresample) and the frame's sample count:
 *   [ashowinfo@a0 @ 0x55c0…] [info] n:3 pts:960 pts_time:0.06 pos:-1 fmt:s16 channels:1 chlayout:mono rate:16000 nb_samples:320 …
 */
export interface ShowinfoLine {
  /** The output's label, e.g. "o0". */
  label: string;
  n: number;
  /** Microseconds; NaN when the frame has no timestamp. */
  ptsUs: number;
  /** Byte position of the frame's packet in the input, or -1 when unknown. */
  pos: number;
  /** Audio only: samples per channel in the frame. */
  samples?: number;
}

const framePattern = /^\[a?showinfo@([oa]\d+) @ [^\]]+\] (?:\[info\] )?n:\s*(\d+) pts:\s*(\S+)\s+pts_time:\S+\s+(?:pos:\s*(-?\d+))?/;
const audioPattern = / rate:(\d+) nb_samples:(\d+)/;
const timeBasePattern = /^\[showinfo@(o\d+) @ [^\]]+\] (?:\[info\] )?config in time_base: (\d+)\/(\d+)/;

/**
 * Reads showinfo's stderr lines. The pts is taken as an integer in the filter's time
 * base (announced in its "config in time_base" line): pts_time is printed with six
 * significant digits, too few for wall-clock timestamps.
 */
export class ShowinfoReader {
  private readonly timeBases = new Map<string, number>();

  /** A frame's line; undefined for any other line. */
  read(line: string): ShowinfoLine | undefined {
    if (!isShowinfoLine(line)) return undefined;
    const frame = framePattern.exec(line);
    if (frame) {
      const label = frame[1]!;
      const pts = Number(frame[3]);
      const audio = label.startsWith('a') ? audioPattern.exec(line) : null;
      const secondsPerTick = audio ? 1 / Number(audio[1]) : (this.timeBases.get(label) ?? NaN);
      return {
        label,
        n: Number(frame[2]),
        ptsUs: Number.isFinite(pts) ? Math.round(pts * secondsPerTick * 1e6) : NaN,
        pos: frame[4] === undefined ? -1 : Number(frame[4]),
        ...(audio ? { samples: Number(audio[2]) } : {}),
      };
    }
    const timeBase = timeBasePattern.exec(line);
    if (timeBase) this.timeBases.set(timeBase[1]!, Number(timeBase[2]) / Number(timeBase[3]));
    return undefined;
  }
}

/** Any line of a showinfo filter: the per-frame line and what follows it (colour, side data…). */
export const isShowinfoLine = (line: string) => line.startsWith('[showinfo@') || line.startsWith('[ashowinfo@');

/**
 * Pairs each output's frames with its showinfo lines, whichever arrives first; both
 * queues are bounded by what ffmpeg can write ahead into a pipe.
 */
export class ShowinfoMatcher {
  private readonly lines = new Map<string, ShowinfoLine[]>();
  private readonly frames = new Map<string, Buffer[]>();

  constructor(private readonly onMatch: (info: ShowinfoLine, data: Buffer) => void) {}

  addLine(info: ShowinfoLine): void {
    const frames = this.frames.get(info.label);
    if (frames && frames.length > 0) this.onMatch(info, frames.shift()!);
    else this.queue(this.lines, info.label).push(info);
  }

  addFrame(label: string, data: Buffer): void {
    const lines = this.lines.get(label);
    if (lines && lines.length > 0) this.onMatch(lines.shift()!, data);
    else this.queue(this.frames, label).push(data);
  }

  /** Frames whose timestamp line has not arrived (yet). */
  pendingFrames(): number {
    let count = 0;
    for (const frames of this.frames.values()) count += frames.length;
    return count;
  }

  private queue<T>(map: Map<string, T[]>, label: string): T[] {
    let queue = map.get(label);
    if (!queue) {
      queue = [];
      map.set(label, queue);
    }
    return queue;
  }
}
