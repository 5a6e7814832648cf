/**
 * What the sidecar reads from the video bitstream itself: whether a frame is a
 * keyframe and the picture size (VP8 keyframe header, H264 SPS), so that a feed can
 * describe itself without running ffprobe.
 */

export interface PictureSize {
  width: number;
  height: number;
}

/** A VP8 frame's size when it is a keyframe (RFC 6386 §9.1); undefined for interframes. */
export function vp8KeyframeSize(frame: Uint8Array): PictureSize | undefined {
  if (frame.length < 10 || (frame[0]! & 1) !== 0) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  const width = (frame[6]! | (frame[7]! << 8)) & 0x3fff;
  const height = (frame[8]! | (frame[9]! << 8)) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** The NAL units of an Annex-B access unit (start codes 00 00 01 or 00 00 00 01), without start codes. */
export function annexBNalUnits(data: Uint8Array): Uint8Array[] {
  const starts: Array<{ at: number; payload: number }> = [];
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      starts.push({ at: i > 0 && data[i - 1] === 0 ? i - 1 : i, payload: i + 3 });
      i += 2;
    }
  }
  return starts.map((start, k) => data.subarray(start.payload, k + 1 < starts.length ? starts[k + 1]!.at : data.length));
}

export const h264NalType = (nal: Uint8Array) => (nal.length > 0 ? nal[0]! & 0x1f : -1);

/** Whether an Annex-B access unit holds an IDR slice. */
export function h264IsKeyframe(data: Uint8Array): boolean {
  return annexBNalUnits(data).some((nal) => h264NalType(nal) === 5);
}

/** The picture size from the first SPS of an Annex-B access unit, if it has one. */
export function h264PictureSize(data: Uint8Array): PictureSize | undefined {
  const sps = annexBNalUnits(data).find((nal) => h264NalType(nal) === 7);
  return sps ? h264SpsSize(sps) : undefined;
}

/** Reads bits MSB first, with emulation-prevention bytes (00 00 03) removed. */
class BitReader {
  private readonly bytes: number[] = [];
  private position = 0;

  constructor(data: Uint8Array) {
    let zeros = 0;
    for (const byte of data) {
      if (zeros >= 2 && byte === 3) {
        zeros = 0;
        continue;
      }
      zeros = byte === 0 ? zeros + 1 : 0;
      this.bytes.push(byte);
    }
  }

  bit(): number {
    const byte = this.bytes[this.position >> 3];
    if (byte === undefined) throw new Error('the SPS ends early');
    const value = (byte >> (7 - (this.position & 7))) & 1;
    this.position++;
    return value;
  }

  bits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + this.bit();
    return value;
  }

  /** Unsigned Exp-Golomb. */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      zeros++;
      if (zeros > 31) throw new Error('bad Exp-Golomb code in the SPS');
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

const highProfiles = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** The cropped picture size an H264 SPS NAL unit (header byte included) describes (ITU-T H.264 §7.3.2.1.1). */
export function h264SpsSize(sps: Uint8Array): PictureSize | undefined {
  try {
    const r = new BitReader(sps.subarray(1));
    const profile = r.bits(8);
    r.bits(16); // constraint flags, level
    r.ue(); // seq_parameter_set_id
    let chromaFormat = 1;
    let separateColourPlanes = 0;
    if (highProfiles.has(profile)) {
      chromaFormat = r.ue();
      if (chromaFormat === 3) separateColourPlanes = r.bit();
      r.ue(); // bit_depth_luma
      r.ue(); // bit_depth_chroma
      r.bit(); // qpprime_y_zero_transform_bypass
      if (r.bit()) {
        for (let i = 0; i < (chromaFormat === 3 ? 12 : 8); i++) {
          if (!r.bit()) continue;
          const size = i < 6 ? 16 : 64;
          let last = 8;
          let next = 8;
          for (let j = 0; j < size; j++) {
            if (next !== 0) next = (last + r.se() + 256) % 256;
            last = next === 0 ? last : next;
          }
        }
      }
    }
    r.ue(); // log2_max_frame_num
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.bit();
      r.se();
      r.se();
      const cycle = r.ue();
      for (let i = 0; i < cycle; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.bit(); // gaps_in_frame_num_allowed
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bit();
    if (!frameMbsOnly) r.bit();
    r.bit(); // direct_8x8_inference
    let crop = { left: 0, right: 0, top: 0, bottom: 0 };
    if (r.bit()) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
    const chromaArrayType = separateColourPlanes ? 0 : chromaFormat;
    const cropUnitX = chromaArrayType === 0 ? 1 : chromaFormat === 3 ? 1 : 2;
    const cropUnitY = (chromaArrayType === 0 ? 1 : chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - cropUnitX * (crop.left + crop.right);
    const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (crop.top + crop.bottom);
    return width > 0 && height > 0 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}
