// A promise-based client of the sidecar's Recording service, and ffprobe read-backs of
// what a recording wrote.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { spawnSync } from 'node:child_process';
import {
  type Recording,
  RecordingServiceClient,
  type StartRecordingRequest,
} from '../../../proto/gen/sidestream/v1/recording';
import { bearerTokenInterceptor } from '../../../extension/client';

export * from '../../../proto/gen/sidestream/v1/recording';

export class RecordingTestClient {
  readonly client: RecordingServiceClient;

  constructor(address: string, token: string) {
    this.client = new RecordingServiceClient(address, credentials.createInsecure(), { interceptors: [bearerTokenInterceptor(token)] });
  }

  start(request: Partial<StartRecordingRequest> & { streamId: string }): Promise<Recording> {
    const full: StartRecordingRequest = {
      folder: '', path: '', container: 0, mode: 0, quality: 0, title: '', metadata: {},
      segmentSeconds: 0, segmentBytes: 0, keepSegments: 0, keepHours: 0, noAudio: false, ...request,
    };
    return new Promise((resolve, reject) =>
      this.client.startRecording(full, new Metadata(), { deadline: Date.now() + 20_000 }, (error: ServiceError | null, response) => (error ? reject(error) : resolve(response.recording!))),
    );
  }

  stop(recordingId: string): Promise<Recording> {
    return new Promise((resolve, reject) =>
      this.client.stopRecording({ recordingId }, new Metadata(), { deadline: Date.now() + 30_000 }, (error: ServiceError | null, response) => (error ? reject(error) : resolve(response.recording!))),
    );
  }

  list(streamId = ''): Promise<Recording[]> {
    return new Promise((resolve, reject) =>
      this.client.listRecordings({ streamId }, new Metadata(), { deadline: Date.now() + 10_000 }, (error: ServiceError | null, response) => (error ? reject(error) : resolve(response.recordings))),
    );
  }

  shutdown(): void {
    this.client.close();
  }
}

export interface ProbedFile {
  format: string;
  durationSeconds: number;
  tags: Record<string, string>;
  streams: Array<{ type: string; codec: string; startTime: number; durationSeconds: number; packets: number }>;
}

/** What ffprobe reads of a recorded file, packets counted (a cut-short file included). */
export function probeFile(path: string): ProbedFile {
  const run = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-show_entries', 'format=format_name,duration:format_tags:stream=codec_type,codec_name,start_time,duration,nb_read_packets', '-of', 'json', path], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ffprobe ${path}: ${run.stderr}`);
  const parsed = JSON.parse(run.stdout) as {
    format: { format_name: string; duration?: string; tags?: Record<string, string> };
    streams: Array<{ codec_type: string; codec_name: string; start_time?: string; duration?: string; nb_read_packets?: string }>;
  };
  return {
    format: parsed.format.format_name,
    durationSeconds: Number(parsed.format.duration ?? NaN),
    tags: Object.fromEntries(Object.entries(parsed.format.tags ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    streams: parsed.streams.map((s) => ({ type: s.codec_type, codec: s.codec_name, startTime: Number(s.start_time ?? NaN), durationSeconds: Number(s.duration ?? NaN), packets: Number(s.nb_read_packets ?? 0) })),
  };
}

/** Seconds of decodable video in a file: decoded by ffmpeg itself, frames counted over the frame rate. */
export function decodedFrames(path: string): number {
  const run = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  return Number(run.stdout.trim() || 0);
}

export interface ProbedPacket {
  type: string;
  ptsTime: number;
  key: boolean;
  /** Byte offset of the packet's data in the file. */
  pos: number;
  size: number;
  /** MD5 of the packet's data: a copied packet has the same one in the source and in the recording. */
  hash: string;
}

/** Every packet of a file, in file order, with an MD5 of its data. */
export function packetsOf(path: string): ProbedPacket[] {
  const run = spawnSync('ffprobe', ['-v', 'error', '-show_data_hash', 'md5', '-show_entries', 'packet=codec_type,pts_time,flags,pos,size,data_hash', '-of', 'json', path], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (run.status !== 0) throw new Error(`ffprobe ${path}: ${run.stderr}`);
  const parsed = JSON.parse(run.stdout) as { packets?: Array<{ codec_type: string; pts_time?: string; flags?: string; pos?: string; size?: string; data_hash?: string }> };
  return (parsed.packets ?? []).map((p) => ({
    type: p.codec_type,
    ptsTime: Number(p.pts_time ?? NaN),
    key: (p.flags ?? '').startsWith('K'),
    pos: Number(p.pos ?? -1),
    size: Number(p.size ?? 0),
    hash: p.data_hash ?? '',
  }));
}
