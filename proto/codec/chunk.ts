/**
 * A hand-written codec for `sidestream.store.v1.ReadFileResponse`, byte-compatible with
 * the generated one (a test checks both ways): model files travel as megabytes of chunks,
 * and the generated codec copies each chunk once more on the way out and in. As in
 * frame.ts, encode writes the header into headroom in front of the bytes that were read
 * from disk (`allocateChunkData`), and decode returns `data` as a view of the message.
 */
import { makeGenericClientConstructor } from '@grpc/grpc-js';
import { ModelStoreServiceClient, ModelStoreServiceService, type ReadFileResponse } from '../gen/sidestream/store/v1/model_store';
import { allocateWithHeadroom, headroom, prependHeader } from './headroom';
import { readVarint, writeVarint } from './varint';

/** Bytes reserved in front of chunk data (see headroom.ts). */
export const chunkHeadroom = headroom;

/** A buffer for `size` bytes of chunk data with `chunkHeadroom` bytes of its own in front. */
export const allocateChunkData = allocateWithHeadroom;

const scratch = Buffer.allocUnsafe(chunkHeadroom);

export function encodeChunk(chunk: ReadFileResponse): Buffer {
  let length = 0;
  if (chunk.offset !== 0) {
    scratch[length++] = 0x08;
    length = writeVarint(scratch, length, chunk.offset);
  }
  const data = chunk.data as Buffer;
  if (data.length === 0) return Buffer.from(scratch.subarray(0, length));
  scratch[length++] = 0x12;
  length = writeVarint(scratch, length, data.length);
  return prependHeader(scratch.subarray(0, length), data);
}

export function decodeChunk(message: Buffer): ReadFileResponse {
  const chunk: ReadFileResponse = { offset: 0, data: Buffer.alloc(0) };
  let offset = 0;
  while (offset < message.length) {
    const [tag, afterTag] = readVarint(message, offset);
    offset = afterTag;
    const wireType = tag & 7;
    if (tag === 0x08) [chunk.offset, offset] = readVarint(message, offset);
    else if (tag === 0x12) {
      const [length, start] = readVarint(message, offset);
      if (start + length > message.length) throw new RangeError('a ReadFileResponse ends inside its data');
      chunk.data = message.subarray(start, start + length);
      offset = start + length;
    } else if (wireType === 0) offset = readVarint(message, offset)[1];
    else if (wireType === 1) offset += 8;
    else if (wireType === 2) {
      const [length, start] = readVarint(message, offset);
      offset = start + length;
    } else if (wireType === 5) offset += 4;
    else throw new RangeError(`a ReadFileResponse has a field of wire type ${wireType}`);
  }
  return chunk;
}

/** The store service with this codec for ReadFile's chunks: for servers (encode) and clients (decode). */
export const modelStoreServiceWithChunkCodec: typeof ModelStoreServiceService = {
  ...ModelStoreServiceService,
  readFile: { ...ModelStoreServiceService.readFile, responseSerialize: encodeChunk, responseDeserialize: decodeChunk },
};

/** A drop-in for the generated ModelStoreServiceClient that decodes chunks without copying them. */
export const ModelStoreClient = makeGenericClientConstructor(modelStoreServiceWithChunkCodec, 'sidestream.store.v1.ModelStoreService') as unknown as typeof ModelStoreServiceClient;
