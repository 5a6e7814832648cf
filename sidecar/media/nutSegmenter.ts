/**
 * Size-based (and time-based) segments cut in Node from the NUT stream the decoder
 * writes for a recording, without remuxing it: each segment is a recorder ffmpeg of
 * its own, fed the stream's header followed by the packets from a video keyframe on.
 *
 * A NUT stream is an ID string, a main header, one header per stream and info packets,
 * then packets grouped behind syncpoints: ffmpeg's NUT muxer writes a syncpoint before
 * the first keyframe after a non-keyframe of a stream (and at least every ~32 KB). A
 * syncpoint resets the timestamps its frames are coded against, so a reader can join
 * there — given the header bytes first (the muxer repeats them only rarely) and a
 * syncpoint whose back pointer does not point before the start of what it reads (a
 * joining demuxer refuses that and skips to the next syncpoint, a whole keyframe
 * interval lost), so the syncpoint a segment starts with is written again with a back
 * pointer of zero and its checksum recomputed.
 *
 * The scan is `Buffer.indexOf` for the 8-byte syncpoint start code; only the few bytes
 * of each syncpoint and of the frame header after it are read byte by byte.
 */
import { crc32Msb } from './crc32';

export const syncpointStartcode = Buffer.from('4e4be4adeeca4569', 'hex');
const mainStartcode = Buffer.from('4e4d7a561f5f04ad', 'hex');
const streamStartcode = Buffer.from('4e5311405bf2f9db', 'hex');
const idString = Buffer.from('nut/multimedia container\0', 'latin1');

const FLAG_KEY = 1;
const FLAG_STREAM_ID = 16;
const FLAG_CODED = 4096;
const FLAG_INVALID = 8192;


/** The least size a segment may be asked for: below it a segment holds a handful of frames. */
export const minimumSegmentBytes = 64 * 1024;

/** NUT's frame and syncpoint checksum (crc32.ts). */
export const nutCrc = crc32Msb;

/** A NUT variable-length number at `at`: its value and where it ends, or undefined when the bytes run out. */
export function readVarlen(bytes: Uint8Array, at: number): { value: number; end: number } | undefined {
  let value = 0;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const byte = bytes[i]!;
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) return { value, end: i + 1 };
  }
  return undefined;
}

export function writeVarlen(value: number): Buffer {
  const groups = [value % 128];
  for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128)) groups.unshift((rest % 128) | 0x80);
  return Buffer.from(groups);
}

export interface NutHeader {
  /** Everything before the first syncpoint: ID string, main, stream and info headers. */
  bytes: Buffer;
  timeBases: Array<{ num: number; den: number }>;
  /** Flags and stream of each of the 256 frame codes. */
  frameCodes: Array<{ flags: number; streamId: number }>;
  /** 0 video, 1 audio, 2 subtitle, 3 data; by stream id. */
  streamClasses: number[];
  /** The stream whose keyframes a segment starts on: the first video stream, else stream 0. */
  referenceStream: number;
}

class Reader {
  constructor(private readonly bytes: Buffer, public at: number) {}
  v(): number {
    const read = readVarlen(this.bytes, this.at);
    if (!read) throw new Error('NUT header ends inside a number');
    this.at = read.end;
    return read.value;
  }
  s(): number {
    const v = this.v() + 1;
    return v % 2 ? -(v - 1) / 2 : v / 2;
  }
}

/** The packets of a NUT header region: start code, content start and end. */
function* packets(bytes: Buffer): Generator<{ startcode: Buffer; content: number; end: number }> {
  let at = bytes.subarray(0, idString.length).equals(idString) ? idString.length : 0;
  while (at + 8 < bytes.length) {
    const startcode = bytes.subarray(at, at + 8);
    const size = readVarlen(bytes, at + 8);
    if (!size) return;
    const content = size.end + (size.value > 4096 ? 4 : 0);
    yield { startcode, content, end: content + size.value };
    at = content + size.value;
  }
}

/** Reads what cutting needs from the bytes before the first syncpoint. */
export function parseNutHeader(bytes: Buffer): NutHeader {
  let main: { timeBases: NutHeader['timeBases']; frameCodes: NutHeader['frameCodes']; streamCount: number } | undefined;
  const streamClasses: number[] = [];
  for (const packet of packets(bytes)) {
    if (packet.startcode.equals(mainStartcode)) {
      const r = new Reader(bytes, packet.content);
      const version = r.v();
      if (version > 3) r.v(); // minor version
      const streamCount = r.v();
      r.v(); // max_distance
      const timeBaseCount = r.v();
      const timeBases = Array.from({ length: timeBaseCount }, () => ({ num: r.v(), den: r.v() }));
      const frameCodes: NutHeader['frameCodes'] = [];
      let stream = 0;
      let mul = 1;
      for (let i = 0; i < 256; ) {
        const flags = r.v();
        const fields = r.v();
        if (fields > 0) r.s(); // pts delta
        if (fields > 1) mul = r.v();
        if (fields > 2) stream = r.v();
        const size = fields > 3 ? r.v() : 0;
        if (fields > 4) r.v(); // reserved count
        const count = fields > 5 ? r.v() : mul - size;
        if (fields > 6) r.s(); // match time delta
        if (fields > 7) r.v(); // header index
        for (let extra = fields; extra > 8; extra--) r.v();
        if (count <= 0 || count > 256 - i) throw new Error(`NUT main header: bad frame code count ${count} at ${i}`);
        for (let j = 0; j < count; j++, i++) {
          if (i === 0x4e) {
            frameCodes.push({ flags: FLAG_INVALID, streamId: 0 });
            j--;
            continue;
          }
          frameCodes.push({ flags, streamId: stream });
        }
      }
      main = { timeBases, frameCodes, streamCount };
    } else if (packet.startcode.equals(streamStartcode)) {
      const r = new Reader(bytes, packet.content);
      const id = r.v();
      streamClasses[id] = r.v();
    }
  }
  if (!main) throw new Error('no NUT main header before the first syncpoint');
  const video = streamClasses.indexOf(0);
  return { bytes, timeBases: main.timeBases, frameCodes: main.frameCodes, streamClasses, referenceStream: video >= 0 ? video : 0 };
}

export type SyncpointRead =
  | { kind: 'incomplete' }
  | { kind: 'invalid' }
  | {
      kind: 'syncpoint';
      /** Where the syncpoint packet ends (the frame after it starts). */
      end: number;
      /** Its timestamp (the next frame's dts), in seconds. */
      seconds: number;
      /** The stream of the frame after it when that frame is a keyframe; -1 otherwise. */
      keyframeStream: number;
      /** The same syncpoint with a back pointer of zero, for a reader that starts there. */
      rewritten: Buffer;
    };

/** Reads the syncpoint at `at` (its start code matched) and the frame header after it. */
export function readSyncpoint(header: NutHeader, data: Buffer, at: number): SyncpointRead {
  const size = readVarlen(data, at + 8);
  if (!size) return data.length - at < 8 + 10 ? { kind: 'incomplete' } : { kind: 'invalid' };
  if (size.value > 4096 || size.value < 6) return { kind: 'invalid' };
  const content = size.end;
  const end = content + size.value;
  // The frame header after it: a frame code, maybe coded flags and a stream id (≤ 21 bytes).
  if (data.length < end + 21) return { kind: 'incomplete' };
  const body = data.subarray(content, end);
  if (nutCrc(body) !== 0) return { kind: 'invalid' }; // the checksum covers itself: the remainder is zero
  const pts = readVarlen(body, 0);
  const back = pts && readVarlen(body, pts.end);
  if (!pts || !back || back.end > body.length - 4) return { kind: 'invalid' };
  const timeBase = header.timeBases[pts.value % header.timeBases.length]!;
  const seconds = (Math.floor(pts.value / header.timeBases.length) * timeBase.num) / timeBase.den;

  const code = data[end]!;
  let keyframeStream = -1;
  const frameCode = header.frameCodes[code];
  if (frameCode && !(frameCode.flags & FLAG_INVALID)) {
    let flags = frameCode.flags;
    let at2 = end + 1;
    if (flags & FLAG_CODED) {
      const coded = readVarlen(data, at2);
      if (!coded) return { kind: 'invalid' };
      flags ^= coded.value;
      at2 = coded.end;
    }
    let stream = frameCode.streamId;
    if (flags & FLAG_STREAM_ID) {
      const id = readVarlen(data, at2);
      if (!id) return { kind: 'invalid' };
      stream = id.value;
    }
    if (flags & FLAG_KEY) keyframeStream = stream;
  }

  const rest = body.subarray(back.end, body.length - 4); // fields after back_ptr_div16 (a wallclock), kept
  const newBody = Buffer.concat([body.subarray(0, pts.end), writeVarlen(0), rest, Buffer.alloc(4)]);
  newBody.writeUInt32BE(nutCrc(newBody.subarray(0, newBody.length - 4)), newBody.length - 4);
  const rewritten = Buffer.concat([syncpointStartcode, writeVarlen(newBody.length), newBody]);
  return { kind: 'syncpoint', end, seconds, keyframeStream, rewritten };
}

export interface CutPolicy {
  /** Cut once a segment holds this many bytes; 0: no limit. */
  bytes: number;
  /** Cut once a segment spans this many seconds; 0: no limit. */
  seconds: number;
  /**
   * Frames per second of the video, 0 when unknown. An encoder places keyframes by its
   * frame-counted clock, so the keyframe meant for a segment's end may come up to half a
   * frame early by the timestamps (a live source's wall-clock stamps jitter): it counts.
   */
  frameRate?: number;
}

/** Marks, in what `push` returns, the end of one segment and the start of the next. */
export const CUT = Symbol('cut');
export type SegmentPiece = Buffer | typeof CUT;

/**
 * Splits one NUT stream into segments, each a NUT stream of its own: the first is the
 * stream's start as it is; each next one starts with the header, then the syncpoint
 * of the reference stream's keyframe at which the current segment reached its size or
 * duration (so it exceeds the size by less than one keyframe interval), then what
 * follows. Every byte of packet data goes to exactly one segment, in order.
 */
export class NutSegmenter {
  private header: NutHeader | undefined;
  private readonly headerParts: Buffer[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private bytesInSegment = 0;
  private segmentStartSeconds: number | undefined;
  /** Segments begun so far (the first one included). */
  segments = 1;

  constructor(private readonly policy: CutPolicy) {}

  /** The stream's next bytes → what goes to the current segment, cuts, what goes to the next ones. */
  push(chunk: Buffer): SegmentPiece[] {
    const out: SegmentPiece[] = [];
    const emit = (bytes: Buffer) => {
      if (bytes.length === 0) return;
      out.push(bytes);
      this.bytesInSegment += bytes.length;
    };
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    let start = 0;
    let pos = 0;
    if (!this.header) {
      const first = data.indexOf(syncpointStartcode);
      if (first < 0) {
        const keep = Math.max(0, data.length - 7);
        this.headerParts.push(data.subarray(0, keep));
        emit(data.subarray(0, keep));
        this.pending = data.subarray(keep);
        return out;
      }
      this.headerParts.push(data.subarray(0, first));
      this.header = parseNutHeader(Buffer.concat(this.headerParts));
      this.headerParts.length = 0;
      emit(data.subarray(0, first));
      data = data.subarray(first);
    }
    const header = this.header;
    for (;;) {
      const at = data.indexOf(syncpointStartcode, pos);
      if (at < 0) {
        const keep = Math.max(start, data.length - 7);
        emit(data.subarray(start, keep));
        this.pending = data.subarray(keep);
        return out;
      }
      const read = readSyncpoint(header, data, at);
      if (read.kind === 'incomplete') {
        emit(data.subarray(start, at));
        this.pending = data.subarray(at);
        return out;
      }
      if (read.kind === 'invalid') {
        pos = at + 1;
        continue;
      }
      this.segmentStartSeconds ??= read.seconds;
      if (read.keyframeStream === header.referenceStream && this.wantsCut(this.bytesInSegment + (at - start), read.seconds - this.segmentStartSeconds)) {
        emit(data.subarray(start, at));
        out.push(CUT);
        this.segments++;
        this.bytesInSegment = 0;
        this.segmentStartSeconds = read.seconds;
        emit(header.bytes);
        emit(read.rewritten);
        start = read.end;
      }
      pos = read.end;
    }
  }

  /** The bytes held back at the end of the stream (a start code may straddle two chunks). */
  end(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    this.bytesInSegment += rest.length;
    return rest;
  }

  private wantsCut(bytes: number, seconds: number): boolean {
    const tolerance = this.policy.frameRate ? 0.5 / this.policy.frameRate : 0.02;
    return (this.policy.bytes > 0 && bytes >= this.policy.bytes) || (this.policy.seconds > 0 && seconds >= this.policy.seconds - tolerance);
  }
}
