import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { spawnTracked } from '../processes';
import { BufferPool } from '../bufferPool';
import { type FrameSplitter, jpegFrameSplitter, PcmCutter, rawFrameSplitter } from './frameSplitter';
import { bytesPerSample, frameByteLength, outputLabel, type ResolvedAudioOutput, type ResolvedOutput } from './ffmpegArgs';
import { isShowinfoLine, type ShowinfoLine, ShowinfoMatcher, ShowinfoReader } from './showinfo';
import type { FrameFormatName } from './types';

export interface DecoderFrame {
  outputIndex: number;
  /** showinfo's frame number n on this output, from 0 at the decoder's start. */
  n: number;
  /** NaN when the frame has no timestamp. */
  ptsUs: number;
  /** Byte position of the frame's packet in the input; -1 when unknown. */
  inputPosition: number;
  decodedAtUs: number;
  width: number;
  height: number;
  format: FrameFormatName;
  data: Buffer;
  /** The pool `data` came from, to give it back to once every subscriber is done with it. */
  pool?: BufferPool;
}

export interface DecoderAudio {
  outputIndex: number;
  n: number;
  /** Of the first sample; NaN when the frame has no timestamp. */
  ptsUs: number;
  decodedAtUs: number;
  /** Samples per channel. */
  samples: number;
  data: Buffer;
}

export interface DecoderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Whether we asked it to stop. */
  stopped: boolean;
  /** The last lines ffmpeg wrote to stderr (not the per-frame lines). */
  stderrTail: string[];
  framesOut: number;
}

export interface DecoderEvents {
  onFrame(frame: DecoderFrame): void;
  onAudio?(frame: DecoderAudio): void;
  /** ffmpeg has set up its inputs and outputs and starts transcoding now (its -re clock starts here). */
  onTranscodeStart?(atUs: number): void;
  /** What ffmpeg said about hardware decoding, e.g. "Auto hwaccel disabled: no device found." */
  onHwaccelNote?(line: string): void;
  /** The decoder reported a damaged frame (it is concealed or dropped). */
  onDecodeError?(): void;
  onExit(exit: DecoderExit): void;
}

const stderrTailLines = 30;
/** A decoder's complaint about one frame, e.g. "[h264 @ 0x…] error while decoding MB 3 4". */
const decodeErrorPattern = /\] \[error\] (error while decoding|concealing \d+|Invalid NAL|corrupt)/;
/** stderr lines that say nothing about a failure. */
const noise = /deprecated pixel format used|^\[info\] +(Metadata|encoder|Side data|cpb:|showinfo:default|Stream #)|^\[info\] Press \[q\]|frame= *\d+ fps=|video:\d+kB audio:/;
export const nowUs = () => Date.now() * 1000;

export interface DecoderPipes {
  /** Video outputs, on fds 3, 4, … */
  video: readonly ResolvedOutput[];
  /** PCM outputs, on the fds after the video outputs'. */
  audio?: readonly ResolvedAudioOutput[];
  /** Recordings' packet pipes (NUT), on the fds after the audio outputs'. */
  recordings?: number;
  /** Streams piped into ffmpeg on the fds after the outputs' (a feed's inputs). */
  inputs?: readonly Readable[];
}

/**
 * One ffmpeg process that decodes a source once and writes each distinct output
 * (format × size, or PCM format × rate × channels) to its own pipe (fd 3, 4, …).
 * Frames are cut from the pipes by exact size (raw), JPEG markers or the sample
 * count ashowinfo reports (PCM), and paired with their timestamps from the named
 * showinfo/ashowinfo filters on stderr.
 */
export class Decoder {
  private child: ChildProcess | undefined;
  private readonly tail: string[] = [];
  private stopping = false;
  private paused = false;
  private framesOut = 0;
  private exited = false;
  private exitPromise: Promise<void> | undefined;

  private readonly outputs: readonly ResolvedOutput[];
  private readonly audioOutputs: readonly ResolvedAudioOutput[];
  private readonly inputs: readonly Readable[];
  /** The pipes into ffmpeg that carry the inputs. */
  private readonly inputPipes: Writable[] = [];
  private readonly recordingCount: number;
  /** Every output pipe's fd, video then audio. */
  private readonly outputFds: readonly number[];
  private readonly pcmCutters: Array<PcmCutter<ShowinfoLine>> = [];
  private readonly framePools: Array<BufferPool | undefined> = [];

  constructor(
    private readonly ffmpegPath: string,
    private readonly args: string[],
    pipes: DecoderPipes,
    private readonly events: DecoderEvents,
  ) {
    this.outputs = pipes.video;
    this.audioOutputs = pipes.audio ?? [];
    this.inputs = pipes.inputs ?? [];
    this.recordingCount = pipes.recordings ?? 0;
    this.outputFds = [...this.outputs, ...this.audioOutputs].map((_, index) => 3 + index);
  }

  /** The pipe carrying recording `index`'s packets, once started. */
  recordingPipe(index: number): Readable | undefined {
    if (index >= this.recordingCount) return undefined;
    return this.child?.stdio[3 + this.outputFds.length + index] as Readable | undefined;
  }

  /** Every pipe ffmpeg writes, before the feeds' input pipes. */
  private get pipeCount(): number {
    return this.outputFds.length + this.recordingCount;
  }


  get pid(): number | undefined {
    return this.child?.pid;
  }

  stderrTail(): string[] {
    return [...this.tail];
  }

  start(): void {
    const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'ignore', 'pipe', ...Array.from({ length: this.pipeCount + this.inputs.length }, () => 'pipe' as const)];
    const child = spawnTracked(this.ffmpegPath, this.args, { stdio });
    this.child = child;
    this.inputs.forEach((input, index) => {
      const pipe = child.stdio[3 + this.pipeCount + index] as Writable;
      // ffmpeg going away closes the pipe: that is its exit's business, not an error here.
      pipe.on('error', () => undefined);
      input.pipe(pipe);
      this.inputPipes.push(pipe);
    });
    this.exitPromise = new Promise((resolve) => {
      let settled = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        this.exited = true;
        for (const input of this.inputs) input.destroy();
        resolve();
        this.events.onExit({ code, signal, stopped: this.stopping, stderrTail: this.stderrTail(), framesOut: this.framesOut });
      };
      child.once('error', (error) => {
        this.pushTail(`cannot run ${this.ffmpegPath}: ${error.message}`);
        finish(null, null);
      });
      // 'close' waits for the pipes to drain, so every frame is delivered before onExit.
      child.once('close', (code, signal) => finish(code, signal));
    });

    const matcher = new ShowinfoMatcher((info, data) => this.emit(info, data));
    const showinfo = new ShowinfoReader();
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (isShowinfoLine(line)) {
        const info = showinfo.read(line);
        if (info?.samples !== undefined) this.wantAudio(info);
        else if (info) matcher.addLine(info);
        return;
      }
      if (line.includes('Stream mapping:')) this.events.onTranscodeStart?.(nowUs());
      if (/hwaccel/i.test(line)) this.events.onHwaccelNote?.(line.replace(/^(\[[^\]]+\] )+/, ''));
      if (decodeErrorPattern.test(line)) this.events.onDecodeError?.();
      if (noise.test(line)) return;
      this.pushTail(line);
    });

    this.outputs.forEach((output, index) => {
      const pool = output.format === 'jpeg' ? undefined : new BufferPool(frameByteLength(output.format, output.width, output.height));
      this.framePools[index] = pool;
      const splitter: FrameSplitter = pool ? rawFrameSplitter(pool) : jpegFrameSplitter();
      const pipe = child.stdio[3 + index] as Readable;
      pipe.on('data', (chunk: Buffer) => {
        let frames: Buffer[];
        try {
          frames = splitter.push(chunk);
        } catch (error) {
          this.pushTail(`output ${index}: ${(error as Error).message}`);
          void this.stop();
          return;
        }
        for (const data of frames) matcher.addFrame(outputLabel(index), data);
      });
      pipe.on('error', () => undefined);
      if (this.paused) pipe.pause();
    });

    this.audioOutputs.forEach((_, index) => {
      const cutter = new PcmCutter<ShowinfoLine>((info, data) => this.emitAudio(index, info, data));
      this.pcmCutters[index] = cutter;
      const pipe = child.stdio[3 + this.outputs.length + index] as Readable;
      pipe.on('data', (chunk: Buffer) => cutter.push(chunk));
      pipe.on('error', () => undefined);
      if (this.paused) pipe.pause();
    });
  }

  private wantAudio(info: ShowinfoLine): void {
    const index = Number(info.label.slice(1));
    const output = this.audioOutputs[index];
    const cutter = this.pcmCutters[index];
    if (!output || !cutter) return;
    cutter.want(info, info.samples! * output.channels * bytesPerSample[output.sampleFormat]);
  }

  private emitAudio(outputIndex: number, info: ShowinfoLine, data: Buffer): void {
    this.framesOut++;
    this.events.onAudio?.({ outputIndex, n: info.n, ptsUs: info.ptsUs, decodedAtUs: nowUs(), samples: info.samples!, data });
  }

  private emit(info: ShowinfoLine, data: Buffer): void {
    const outputIndex = Number(info.label.slice(1));
    const output = this.outputs[outputIndex];
    if (!output) return;
    this.framesOut++;
    this.events.onFrame({
      outputIndex,
      n: info.n,
      ptsUs: info.ptsUs,
      inputPosition: info.pos,
      decodedAtUs: nowUs(),
      width: output.width,
      height: output.height,
      format: output.format,
      data,
      pool: this.framePools[outputIndex],
    });
  }

  private pushTail(line: string): void {
    this.tail.push(line.replace(/\[(info|warning|error|fatal|verbose)\] /, ''));
    if (this.tail.length > stderrTailLines) this.tail.shift();
  }

  /** Back-pressure: stop reading the output pipes; ffmpeg blocks when the pipe buffers fill. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const fd of this.outputFds) (this.child?.stdio[fd] as Readable | undefined)?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const fd of this.outputFds) (this.child?.stdio[fd] as Readable | undefined)?.resume();
  }

  /** SIGTERM (ffmpeg finishes its outputs), SIGKILL after `graceMs`. Resolves once it has exited. */
  async stop(graceMs = 2000): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    this.stopping = true;
    this.resume();
    for (const input of this.inputs) input.destroy();
    // Closing its input pipes wakes an ffmpeg blocked reading one (a live feed): it sees the end and exits at once.
    for (const pipe of this.inputPipes) pipe.destroy();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.kill('SIGTERM');
    await this.exitPromise;
    clearTimeout(timer);
  }
}
