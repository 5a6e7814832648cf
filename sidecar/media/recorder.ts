import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import { access, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { log } from '../log';
import { captureOutput, spawnTracked } from '../processes';
import { containerExtension, partPath, recorderArgs, type RecordingPlan } from './recordingArgs';
import { MediaError } from './types';

export type RecordingStateName = 'recording' | 'stopped' | 'failed';

export interface RecordingTarget {
  /** One file, or (with segments) the first part of every segment's name. */
  path: string;
  /** Seconds per segment; 0: one file. */
  segmentSeconds: number;
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

export interface RecordingSnapshot {
  id: string;
  streamId: string;
  state: RecordingStateName;
  reason: string;
  files: string[];
  metadataFile: string;
  container: string;
  mode: string;
  videoCodec: string;
  audioCodec: string;
  startedAtUs: number;
  durationSeconds: number;
  bytes: number;
}

const stderrTailLines = 12;

/** Where each recorder part is and what it wrote. */
interface Part {
  child: ChildProcess;
  input: Readable;
  exited: Promise<void>;
  tail: string[];
  /** Its input was ended: the segment it names last is its final one, no other follows. */
  ending: boolean;
  /** The file it writes now. */
  file: string | undefined;
}

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
    const segmented = this.target.segmentSeconds > 0;
    const extension = containerExtension[this.plan.container];
    const args = recorderArgs(
      this.plan,
      segmented
        ? { segmentPattern: `${this.target.path}-%05d.${extension}`, segmentSeconds: this.target.segmentSeconds, firstSegment: this.segmentsStarted }
        : { path: partPath(this.target.path, this.parts), segmentSeconds: 0, firstSegment: 0 },
      this.tags(),
    );
    const child = spawnTracked(this.ffmpeg(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const part: Part = {
      child,
      input,
      tail: [],
      ending: false,
      file: segmented ? segmentName(this.target.path, this.segmentsStarted++, extension) : partPath(this.target.path, this.parts),
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
      part.file = !part.ending && part.child.exitCode === null ? segmentName(this.target.path, this.segmentsStarted++, extension) : undefined;
      void this.applyRetention();
    });
    child.stdin!.on('error', () => undefined); // a recorder that died: its exit says why
    input.pipe(child.stdin!);
    child.once('error', (error) => part.tail.push(`cannot run ffmpeg: ${error.message}`));
    this.emit('changed');
  }

  private endPart(part: Part): void {
    part.ending = true;
    part.input.unpipe(part.child.stdin!);
    part.input.resume(); // whatever the decoder still writes is not this part's
    part.child.stdin!.end();
  }

  private async onPartExit(part: Part, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const file = part.file;
    part.file = undefined;
    if (this.part === part) this.part = undefined;
    // The file being written is finished now (a segment cut short by a kill or a full
    // disk too: the muxer named only those it closed itself).
    const written = file !== undefined && (await stat(file).then(() => true, () => false));
    if (written && !this.finishedFiles.includes(file)) this.finishedFiles.push(file);
    this.runningParts.delete(part);
    // A part ended because its decoder stopped may complain of a cut input; that loses nothing.
    if (code === 0 || part.ending || this.stateValue !== 'recording') return;
    part.input.unpipe(part.child.stdin!);
    part.input.resume();
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
      const part = this.part;
      if (part) {
        this.endPart(part);
        const timer = setTimeout(() => part.child.kill('SIGTERM'), 10_000);
        await part.exited;
        clearTimeout(timer);
      }
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

  /** The JSON file beside the recording, replaced atomically. */
  async writeMetadata(summary?: { frames: number; durationSeconds: number; bytes: number; files: number }): Promise<void> {
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
  if (target.segmentSeconds > 0) {
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
