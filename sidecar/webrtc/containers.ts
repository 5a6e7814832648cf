/**
 * The containers a WHIP session's media reaches ffmpeg in, written by hand (they are
 * tiny): IVF for video (VP8, and H264 as Annex-B access units under the fourcc
 * "H264", which ffmpeg's IVF demuxer maps through its BMP tags), and Ogg for Opus.
 * Timestamps are in 1/90000 s (video) and 1/48000 s (audio) since the Unix epoch, so
 * that a decoded frame's pts is the wall-clock time its first packet arrived.
 */
import { crc32Msb } from '../media/crc32';

export type VideoCodecName = 'vp8' | 'h264';

const fourcc: Record<VideoCodecName, string> = { vp8: 'VP80', h264: 'H264' };

/** The 32-byte IVF file header with a 1/90000 time base. */
export function ivfHeader(codec: VideoCodecName, width: number, height: number): Buffer {
  const header = Buffer.alloc(32);
  header.write('DKIF', 0, 'ascii');
  header.writeUInt16LE(0, 4);
  header.writeUInt16LE(32, 6);
  header.write(fourcc[codec], 8, 'ascii');
  header.writeUInt16LE(width & 0xffff, 12);
  header.writeUInt16LE(height & 0xffff, 14);
  // Time base denominator, then numerator (as ffmpeg's ivfdec reads them).
  header.writeUInt32LE(90_000, 16);
  header.writeUInt32LE(1, 20);
  header.writeUInt32LE(0, 24);
  return header;
}

/** One IVF frame: a 12-byte header (size, 64-bit pts) and the frame's bytes. */
export function ivfFrame(data: Buffer, pts: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt32LE(data.length, 0);
  header.writeBigUInt64LE(BigInt(Math.max(0, Math.round(pts))), 4);
  return Buffer.concat([header, data]);
}

// ---- Ogg (RFC 3533) carrying Opus (RFC 7845) --------------------------------

/** Ogg's page checksum (crc32.ts). */
export const oggCrc = crc32Msb;

const headerTypeBos = 0x02;

/** One Ogg page holding one whole packet (at most 255 × 255 bytes). */
export function oggPage(packet: Buffer, granule: bigint, serial: number, sequence: number, headerType = 0): Buffer {
  const lacing: number[] = [];
  let left = packet.length;
  while (left >= 255) {
    lacing.push(255);
    left -= 255;
  }
  lacing.push(left);
  if (lacing.length > 255) throw new Error(`an Opus packet of ${packet.length} bytes does not fit one Ogg page`);
  const header = Buffer.alloc(27 + lacing.length);
  header.write('OggS', 0, 'ascii');
  header.writeUInt8(0, 4);
  header.writeUInt8(headerType, 5);
  header.writeBigInt64LE(granule, 6);
  header.writeUInt32LE(serial >>> 0, 14);
  header.writeUInt32LE(sequence >>> 0, 18);
  header.writeUInt32LE(0, 22);
  header.writeUInt8(lacing.length, 26);
  lacing.forEach((value, i) => header.writeUInt8(value, 27 + i));
  const page = Buffer.concat([header, packet]);
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

/** The OpusHead identification header: `channels`, no pre-skip, 48 kHz, mapping family 0. */
export function opusHead(channels: number): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'ascii');
  head.writeUInt8(1, 8);
  head.writeUInt8(channels, 9);
  head.writeUInt16LE(0, 10);
  head.writeUInt32LE(48_000, 12);
  head.writeInt16LE(0, 16);
  head.writeUInt8(0, 18);
  return head;
}

export function opusTags(vendor = 'sidestream'): Buffer {
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
  tags.write('OpusTags', 0, 'ascii');
  tags.writeUInt32LE(vendor.length, 8);
  tags.write(vendor, 12, 'ascii');
  tags.writeUInt32LE(0, 12 + vendor.length);
  return tags;
}

/** Samples (at 48 kHz) in one Opus packet, from its TOC byte and frame count (RFC 6716 §3.1). */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length === 0) return 0;
  const toc = packet[0]!;
  const config = toc >> 3;
  let frameSamples: number;
  if (config < 12) frameSamples = [480, 960, 1920, 2880][config & 3]!; // SILK: 10, 20, 40, 60 ms
  else if (config < 16) frameSamples = (config & 1) === 0 ? 480 : 960; // Hybrid: 10, 20 ms
  else frameSamples = [120, 240, 480, 960][config & 3]!; // CELT: 2.5, 5, 10, 20 ms
  const code = toc & 3;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 1 || code === 2) frames = 2;
  else frames = packet.length > 1 ? packet[1]! & 0x3f : 0;
  return frameSamples * frames;
}

/** Writes an Ogg Opus stream page by page: headers first, then one packet per page. */
export class OggOpusWriter {
  private sequence = 0;

  constructor(
    private readonly serial: number,
    private readonly channels = 2,
  ) {}

  headers(): Buffer {
    this.sequence = 0;
    return Buffer.concat([
      oggPage(opusHead(this.channels), 0n, this.serial, this.sequence++, headerTypeBos),
      oggPage(opusTags(), 0n, this.serial, this.sequence++),
    ]);
  }

  /** A page with `packet`, whose first sample is at `startSample` (48 kHz); the granule is its end. */
  packet(packet: Buffer, startSample: number): Buffer {
    const end = BigInt(Math.max(0, Math.round(startSample))) + BigInt(opusPacketSamples(packet));
    return oggPage(packet, end, this.serial, this.sequence++);
  }
}
