/**
 * The preview endpoint's byte stream (see `preview_url` in sidecar.proto): records of
 * a 32-byte little-endian header and one JPEG image. Pure TypeScript over Uint8Array
 * and DataView: the sidecar writes it, the stream panel's webview reads it.
 */

/** Where a stream's preview is under the endpoint's base URL: `<base><previewPathPrefix><stream id>?<query>`. */
export const previewPathPrefix = '/preview/';

/** The URL of `streamId`'s preview with `query` (width, policy, …), under the endpoint's `base`. */
export const previewUrl = (base: string, streamId: string, query: string) => `${base}${previewPathPrefix}${encodeURIComponent(streamId)}?${query}`;

export const previewHeaderBytes = 32;
/** No preview image is larger; a header that says otherwise means the stream is not a preview stream. */
export const maxPreviewImageBytes = 32 * 1024 * 1024;

export interface PreviewRecord {
  sequence: number;
  /** Capture time (wall clock, ms); the decode time when the source has none. */
  capturedAtMs: number;
  width: number;
  height: number;
  /** Frames the subscriber's policy dropped since the previous record. */
  droppedBefore: number;
  /** The JPEG image, SOI to EOI. */
  data: Uint8Array;
}

export function encodePreviewHeader(record: Omit<PreviewRecord, 'data'>, dataLength: number): Uint8Array {
  const header = new Uint8Array(previewHeaderBytes);
  const view = new DataView(header.buffer);
  view.setUint32(0, dataLength, true);
  view.setUint32(4, record.width, true);
  view.setUint32(8, record.height, true);
  view.setUint32(12, record.droppedBefore, true);
  view.setFloat64(16, record.sequence, true);
  view.setFloat64(24, record.capturedAtMs, true);
  return header;
}

export class PreviewStreamError extends Error {}

/**
 * Cuts records out of the chunks of a preview response as they arrive. An image that
 * one chunk holds whole is a view of that chunk; one spread over chunks is copied once.
 */
export class PreviewStreamParser {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  push(chunk: Uint8Array): PreviewRecord[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const records: PreviewRecord[] = [];
    for (;;) {
      if (this.buffered < previewHeaderBytes) return records;
      const header = this.peek(previewHeaderBytes);
      const view = new DataView(header.buffer, header.byteOffset, previewHeaderBytes);
      const dataLength = view.getUint32(0, true);
      if (dataLength === 0 || dataLength > maxPreviewImageBytes) throw new PreviewStreamError(`a preview record says its image has ${dataLength} bytes`);
      if (this.buffered < previewHeaderBytes + dataLength) return records;
      const record = {
        width: view.getUint32(4, true),
        height: view.getUint32(8, true),
        droppedBefore: view.getUint32(12, true),
        sequence: view.getFloat64(16, true),
        capturedAtMs: view.getFloat64(24, true),
      };
      this.take(previewHeaderBytes);
      records.push({ ...record, data: this.take(dataLength) });
    }
  }

  /** The first `length` buffered bytes, without consuming them. */
  private peek(length: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= length) return first.subarray(0, length);
    this.chunks = [this.concat(this.buffered)];
    return this.chunks[0]!.subarray(0, length);
  }

  private take(length: number): Uint8Array {
    const first = this.chunks[0]!;
    const taken = first.length >= length ? first.subarray(0, length) : this.concat(length);
    this.consume(length);
    return taken;
  }

  /** A copy of the first `length` buffered bytes. */
  private concat(length: number): Uint8Array {
    const out = new Uint8Array(length);
    let offset = 0;
    for (const chunk of this.chunks) {
      if (offset >= length) break;
      const part = chunk.subarray(0, Math.min(chunk.length, length - offset));
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  private consume(length: number): void {
    this.buffered -= length;
    while (length > 0) {
      const first = this.chunks[0]!;
      if (first.length <= length) {
        length -= first.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = first.subarray(length);
        length = 0;
      }
    }
  }
}
