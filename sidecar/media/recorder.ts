import type { ChildProcess } from 'node:child_process';
import type { Recording as RecordingMessage } from '../../proto/gen/sidestream/v1/recording';
import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import { access, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { log } from '../log';
import { captureOutput, spawnTracked } from '../processes';
import { CUT, NutSegmenter } from './nutSegmenter';
import { containerExtension, partPath, recorderArgs, type RecordingPlan } from './recordingArgs';
import { MediaError } from './types';

export type RecordingStateName = 'recording' | 'stopped' | 'failed';

export interface RecordingTarget {
  /** One file, or (with segments) the first part of every segment's name. */
  path: string;
  /** Seconds per segment; 0: no limit. */
  segmentSeconds: number;
  /** Bytes per segment (a segment ends at the first keyframe once it has this many); 0: no limit. */
  segmentBytes: number;
  /** The video's frames per second (0: unknown or no video), for cutting by time in Node. */
  frameRate?: number;
  keepSegments: number;
  keepHours: number;
}

export interface RecordingSource {
  streamId: string;
  streamName: string;
  uri: string;
  /** The capture device, for camera, screen and microphone sources. */
  device: string;
}

/** A recording as the Recording service describes it, with its state by name. */
export type RecordingSnapshot = Omit<RecordingMessage, 'state'> & { state: RecordingStateName };

const stderrTailLines = 12;

/** One recorder ffmpeg and what it writes. */
interface Part {
  child: ChildProcess;
  exited: Promise<void>;
  tail: string[];
  /** Its input was ended: the segment it names last is its final one, no other follows. */
  ending: boolean;
  /** The file it writes now. */
  file: string | undefined;
  /** Stops the decoder's pipe feeding it; what the decoder still writes goes nowhere. */
  release: () => void;
}

/** Segments by size are cut in Node (ffmpeg's segment muxer has no size limit); by time alone, by ffmpeg. */
const cutInNode = (target: RecordingTarget) => target.segmentBytes > 0;

/**
 * One recording of a stream. The stream's decoder writes the recording's packets to a
 * pipe; each time a decoder starts (the first time, and after a reconnect or a change
 * of its outputs) the recording gets the new pipe and writes a new part: a recorder
 * ffmpeg that muxes the packets into the file (`clip.mp4`, then `clip-part2.mp4`), or
 * into numbered segments that continue across parts. A recorder that fails (a full
 * disk) fails the recording and leaves its files playable; the stream goes on.
 */
export class Recording extends EventEmitter {
  private stateValue: RecordingStateName = 'recording';
  private reasonValue = '';
  private part: Part | undefined;
  private parts = 0;
  private readonly finishedFiles: string[] = [];
  /** Parts still writing: the current one, and one that finishes after a decoder restart. */
  private readonly runningParts = new Set<Part>();
  private segmentsStarted = 0;
  /** The number of each segment file, to keep them in order. */
  private readonly segmentOrder = new Map<string, number>();
  private readonly startedAt = new Date();
  private stoppedAtUs = 0;
  private bytesOfDeleted = 0;
  private finishing: Promise<void> | undefined;
  readonly metadataFile: string;

  constructor(
    readonly id: string,
    readonly source: RecordingSource,
    readonly plan: RecordingPlan,
    readonly target: RecordingTarget,
    private readonly title: string,
    private readonly customMetadata: Readonly<Record<string, string>>,
    private readonly ffmpeg: () => string,
    private readonly ffprobe: () => string,
  ) {
    super();
    this.metadataFile = metadataPathFor(target.path);
  }

  get state(): RecordingStateName {
    return this.stateValue;
  }

  get startedAtUs(): number {
    return this.startedAt.getTime() * 1000;
  }

  /** The container metadata: the same in every part and segment. */
  private tags(): Array<[string, string]> {
    return [
      ['title', this.title],
      ['creation_time', this.startedAt.toISOString()],
      ['source_uri', this.source.uri],
      ['stream', this.source.streamName],
      ...(this.source.device ? ([['device', this.source.device]] as Array<[string, string]>) : []),
      ['recorded_by', 'Sidestream'],
      ...Object.entries(this.customMetadata),
    ];
  }

  /** A decoder started and writes this recording's packets to `input`: a new part reads them. */
  attach(input: Readable): void {
    if (this.stateValue !== 'recording') {
      input.resume();
      return;
    }
    const previous = this.part;
    if (previous) this.endPart(previous);
    this.parts++;
    if (cutInNode(this.target)) {
      this.feedSegments(input);
    } else {
      const release = () => {
        input.unpipe(part.child.stdin!);
        input.resume(); // whatever the decoder still writes is not this part's
      };
      const part = this.spawnPart(release);
      input.pipe(part.child.stdin!);
    }
    this.emit('changed');
  }

  /** Starts a recorder: one file, or the segment muxer writing numbered segments from the next number on. */
  private spawnPart(release: () => void): Part {
    const extension = containerExtension[this.plan.container];
    const muxerSegments = !cutInNode(this.target) && this.target.segmentSeconds > 0;
    const file = muxerSegments || cutInNode(this.target) ? segmentName(this.target.path, this.segmentsStarted, extension) : partPath(this.target.path, this.parts);
    const args = recorderArgs(
      this.plan,
      muxerSegments
        ? { segmentPattern: `${this.target.path}-%05d.${extension}`, segmentSeconds: this.target.segmentSeconds, firstSegment: this.segmentsStarted }
        : { path: file, segmentSeconds: 0, firstSegment: 0 },
      this.tags(),
    );
    if (muxerSegments || cutInNode(this.target)) this.segmentOrder.set(file, this.segmentsStarted++);
    const child = spawnTracked(this.ffmpeg(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const part: Part = {
      child,
      tail: [],
      ending: false,
      file,
      release,
      exited: new Promise((resolve) => child.once('close', (code, signal) => void this.onPartExit(part, code, signal).finally(resolve))),
    };
    this.part = part;
    this.runningParts.add(part);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      part.tail.push(line.replace(/^\[(warning|error|fatal)\] /, ''));
      if (part.tail.length > stderrTailLines) part.tail.shift();
    });
    // The segment muxer names each finished segment on stdout; the next one is being written.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const finished = join(dirname(this.target.path), basename(line.trim()));
      if (!line.trim() || this.finishedFiles.includes(finished)) return;
      this.finishedFiles.push(finished);
      if (!part.ending && part.child.exitCode === null) {
        part.file = segmentName(this.target.path, this.segmentsStarted, extension);
        this.segmentOrder.set(part.file, this.segmentsStarted++);
      } else part.file = undefined;
      void this.segmentFinished();
    });
    child.stdin!.on('error', () => undefined); // a recorder that died: its exit says why
    child.once('error', (error) => part.tail.push(`cannot run ffmpeg: ${error.message}`));
    return part;
  }

  /**
   * Segments by size (and time): the decoder's NUT stream goes through a segmenter that
   * finds the syncpoint before each video keyframe; where the segment has reached its
   * size (or duration) the recorder gets the end of its input, and a new recorder gets
   * the stream's header and the packets from that keyframe on, into the next file.
   */
  private feedSegments(input: Readable): void {
    const segmenter = new NutSegmenter({ bytes: this.target.segmentBytes, seconds: this.target.segmentSeconds, frameRate: this.target.frameRate ?? 0 });
    let part: Part;
    let released = false;
    let paused = false;
    const resume = () => {
      if (!paused) return;
      paused = false;
      if (!released) input.resume();
    };
    const write = (bytes: Buffer) => {
      const stdin = part.child.stdin!;
      if (bytes.length > 0 && !stdin.writableEnded && !stdin.destroyed) stdin.write(bytes);
    };
    const onData = (chunk: Buffer) => {
      for (const piece of segmenter.push(chunk)) {
        if (piece !== CUT) {
          write(piece);
          continue;
        }
        const finished = part;
        finished.ending = true;
        finished.child.stdin!.end();
        part = this.spawnPart(release);
        this.emit('changed');
      }
      // Backpressure as pipe() has it: the decoder's pipe waits for the recorder that lags
      // (until it drains, or exits).
      const stdin = part.child.stdin!;
      if (stdin.writableNeedDrain && !paused && !released) {
        paused = true;
        input.pause();
        stdin.once('drain', resume);
        void part.exited.then(resume);
      }
    };
    const onEnd = () => {
      if (released) return;
      released = true;
      input.off('data', onData);
      write(segmenter.end());
      part.child.stdin!.end();
    };
    const release = () => {
      if (released) return;
      released = true;
      input.off('data', onData);
      input.off('end', onEnd);
      write(segmenter.end()); // the bytes held back: the end of the last packet
      input.resume(); // whatever the decoder still writes is not this part's
    };
    part = this.spawnPart(release);
    input.on('data', onData);
    input.once('end', onEnd);
  }

  private endPart(part: Part): void {
    part.ending = true;
    part.release();
    part.child.stdin!.end();
  }

  private async onPartExit(part: Part, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const file = part.file;
    part.file = undefined;
    if (this.part === part) this.part = undefined;
    // The file being written is finished now (a segment cut short by a kill or a full
    // disk too: the muxer named only those it closed itself).
    const written = file !== undefined && (await stat(file).then(() => true, () => false));
    if (written && !this.finishedFiles.includes(file)) {
      this.finishedFiles.push(file);
      // Segments finish in the order they started, but their exits may be seen out of order.
      this.finishedFiles.sort((a, b) => (this.segmentOrder.get(a) ?? 0) - (this.segmentOrder.get(b) ?? 0));
    }
    this.runningParts.delete(part);
    if (written && this.segmentOrder.has(file)) await this.segmentFinished();
    // A part ended because its decoder stopped may complain of a cut input; that loses nothing.
    if (code === 0 || part.ending || this.stateValue !== 'recording') return;
    part.release();
    const tail = part.tail.filter((line) => line.trim()).slice(-3).join(' | ');
    const how = signal ? `the recorder was killed by ${signal}` : `the recorder exited with code ${code}`;
    const full = /No space left on device/i.test(tail) ? 'the disk is full: ' : '';
    void this.finish('failed', `${full}${how}${tail ? `: ${tail}` : ''}`);
  }

  /** Ends the recording: the current part finishes its file; resolves once the files are complete. */
  stop(reason = ''): Promise<void> {
    return this.finish('stopped', reason);
  }

  /** Ends the recording because its stream failed; the files written so far stay. */
  fail(reason: string): Promise<void> {
    return this.finish('failed', reason);
  }

  get finished(): boolean {
    return this.finishing !== undefined;
  }

  private finish(state: 'stopped' | 'failed', reason: string): Promise<void> {
    this.finishing ??= (async () => {
      this.stateValue = state;
      this.reasonValue = reason;
      this.stoppedAtUs = Date.now() * 1000;
      if (this.part) this.endPart(this.part);
      // The current part and any still finishing a file (a segment just cut, a part before a restart).
      const parts = [...this.runningParts];
      const timer = setTimeout(() => parts.forEach((part) => part.child.kill('SIGTERM')), 10_000);
      await Promise.all(parts.map((part) => part.exited));
      clearTimeout(timer);
      if (state === 'failed') log.warn(`recording ${this.id} failed: ${reason}`);
      await this.writeMetadata(await this.summary()).catch((error: unknown) => log.warn(`recording ${this.id}: cannot write ${this.metadataFile}: ${(error as Error).message}`));
      this.emit('finished');
      this.emit('changed');
    })();
    return this.finishing;
  }

  /** Files written so far, oldest first, deleted segments left out. */
  files(): string[] {
    const writing = [...this.runningParts].flatMap((part) => (part.file && !this.finishedFiles.includes(part.file) ? [part.file] : []));
    return [...this.finishedFiles, ...writing];
  }

  async snapshot(): Promise<RecordingSnapshot> {
    const files = this.files();
    const sizes = await Promise.all(files.map((file) => stat(file).then((s) => s.size, () => 0)));
    const end = this.stoppedAtUs || Date.now() * 1000;
    return {
      id: this.id,
      streamId: this.source.streamId,
      state: this.stateValue,
      reason: this.reasonValue,
      files,
      metadataFile: this.metadataFile,
      container: this.plan.container,
      mode: this.plan.mode,
      videoCodec: this.plan.video?.codec ?? '',
      audioCodec: this.plan.audio?.codec ?? '',
      startedAtUs: this.startedAtUs,
      durationSeconds: (end - this.startedAtUs) / 1e6,
      bytes: this.bytesOfDeleted + sizes.reduce((sum, size) => sum + size, 0),
    };
  }

  /** A segment is complete: retention, and the JSON file lists the files as they are now. */
  private async segmentFinished(): Promise<void> {
    await this.applyRetention();
    if (this.stateValue === 'recording') {
      await this.writeMetadata().catch((error: unknown) => log.warn(`recording ${this.id}: cannot write ${this.metadataFile}: ${(error as Error).message}`));
    }
  }

  /** Deletes the oldest finished segments beyond the count and age limits (never the one being written). */
  private async applyRetention(): Promise<void> {
    const { keepSegments, keepHours } = this.target;
    if (!keepSegments && !keepHours) return;
    const cutoff = Date.now() - keepHours * 3_600_000;
    for (;;) {
      const oldest = this.finishedFiles[0];
      if (!oldest) return;
      const tooMany = keepSegments > 0 && this.files().length > keepSegments;
      const info = await stat(oldest).catch(() => undefined);
      const tooOld = keepHours > 0 && info !== undefined && info.mtimeMs < cutoff;
      if (!tooMany && !tooOld) return;
      this.finishedFiles.shift();
      this.bytesOfDeleted += info?.size ?? 0;
      await unlink(oldest).catch(() => undefined);
      log.info(`recording ${this.id}: deleted ${oldest} (retention)`);
    }
  }

  /** What the files hold, read back with ffprobe: frames and duration. */
  private async summary(): Promise<{ frames: number; durationSeconds: number; bytes: number; files: number }> {
    let frames = 0;
    let durationSeconds = 0;
    let bytes = this.bytesOfDeleted;
    for (const file of this.files()) {
      const size = await stat(file).then((s) => s.size, () => -1);
      if (size < 0) continue;
      bytes += size;
      if (!this.ffprobe()) continue;
      const run = await captureOutput(this.ffprobe(), ['-v', 'error', '-count_packets', '-show_entries', 'stream=codec_type,nb_read_packets:format=duration', '-of', 'json', file], 30_000).catch(() => undefined);
      if (!run || run.code !== 0) continue;
      try {
        const parsed = JSON.parse(run.stdout) as { streams?: Array<{ codec_type?: string; nb_read_packets?: string }>; format?: { duration?: string } };
        frames += Number(parsed.streams?.find((s) => s.codec_type === 'video')?.nb_read_packets ?? 0);
        durationSeconds += Number(parsed.format?.duration ?? 0) || 0;
      } catch {
        // a file ffprobe cannot describe adds its bytes only
      }
    }
    return { frames, durationSeconds, bytes, files: this.files().length };
  }

  private metadataWrites: Promise<void> = Promise.resolve();

  /** The JSON file beside the recording, replaced atomically; writes happen one after another, in call order. */
  writeMetadata(summary?: { frames: number; durationSeconds: number; bytes: number; files: number }): Promise<void> {
    const write = this.metadataWrites.then(() => this.writeMetadataNow(summary));
    this.metadataWrites = write.catch(() => undefined);
    return write;
  }

  private async writeMetadataNow(summary?: { frames: number; durationSeconds: number; bytes: number; files: number }): Promise<void> {
    const snapshot = await this.snapshot();
    const document = {
      format: 1,
      id: this.id,
      title: this.title,
      state: snapshot.state,
      reason: snapshot.reason,
      source: { streamId: this.source.streamId, streamName: this.source.streamName, uri: this.source.uri, device: this.source.device },
      startedAt: this.startedAt.toISOString(),
      stoppedAt: this.stoppedAtUs ? new Date(this.stoppedAtUs / 1000).toISOString() : null,
      container: snapshot.container,
      mode: snapshot.mode,
      videoCodec: snapshot.videoCodec,
      audioCodec: snapshot.audioCodec,
      metadata: this.customMetadata,
      files: snapshot.files,
      ...(summary ? { summary: { ...summary, drops: this.drops } } : {}),
    };
    const temporary = `${this.metadataFile}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o644 });
    await rename(temporary, this.metadataFile);
  }

  private dropCounter: (() => Record<string, number>) | undefined;
  private dropsAtStart: Record<string, number> = {};

  /** Where the stream counts the frames it loses; the recording reports those lost while it ran. */
  countDropsWith(counter: () => Record<string, number>): void {
    this.dropCounter = counter;
    this.dropsAtStart = counter();
  }

  private get drops(): Record<string, number> {
    const now = this.dropCounter?.() ?? {};
    return Object.fromEntries(Object.entries(now).map(([key, value]) => [key, value - (this.dropsAtStart[key] ?? 0)]));
  }
}

export function metadataPathFor(path: string): string {
  return `${path.replace(/\.(mp4|mkv|webm)$/i, '')}.json`;
}

function segmentName(base: string, index: number, extension: string): string {
  return `${base}-${String(index).padStart(5, '0')}.${extension}`;
}

/** Refuses a target whose files exist (a recording never overwrites) or whose folder cannot be written. */
export async function checkTarget(target: RecordingTarget, extension: string): Promise<void> {
  const folder = dirname(target.path);
  try {
    await access(folder, constants.W_OK);
  } catch {
    throw new MediaError('failed-precondition', `cannot write to ${folder}: it does not exist or is not writable`);
  }
  const taken = async (path: string) => access(path).then(() => true, () => false);
  if (target.segmentSeconds > 0 || target.segmentBytes > 0) {
    const prefix = `${basename(target.path)}-`;
    const existing = (await readdir(folder)).find((name) => name.startsWith(prefix) && name.endsWith(`.${extension}`));
    if (existing) throw new MediaError('already-exists', `${join(folder, existing)} exists: a recording never overwrites a file; choose another path`);
  } else if (await taken(target.path)) {
    throw new MediaError('already-exists', `${target.path} exists: a recording never overwrites a file; choose another path`);
  }
  if (await taken(metadataPathFor(target.path))) {
    throw new MediaError('already-exists', `${metadataPathFor(target.path)} exists: a recording never overwrites a file; choose another path`);
  }
}
