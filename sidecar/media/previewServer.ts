import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodePreviewHeader, previewPathPrefix } from '../../proto/codec/previewStream';
import { bearerToken, tokenDigest, tokenMatches } from '../auth';
import { log } from '../log';
import type { Delivery } from './queue';
import type { StreamRegistry } from './registry';
import { deliver, type FrameSink, subscribeDefaults, videoQueue } from './service';
import { type BufferPolicyName, type DecodedFrame, MediaError } from './types';

/**
 * Live previews over plain HTTP on loopback, for a browser that has no gRPC client:
 * the stream panel's webview reads its tiles' JPEG frames here directly, so that the
 * frames do not pass through the extension host (which, in code-server and remote
 * windows, deflates every byte it posts to a webview). The frames are the same
 * subscription the Streams service gives (`Subscribe` with JPEG), at most two
 * unflushed per response; the bytes are records of proto/codec/previewStream.ts.
 *
 *   GET     /preview/<stream id>?width=&height=&quality=&policy=&max_fps=
 *   OPTIONS /preview/<stream id>     CORS preflight (a webview's origin is not ours)
 *
 * The bearer token is the preview token (HMAC of the sidecar's token): it opens
 * previews and nothing else.
 */
const previewPolicies: readonly BufferPolicyName[] = ['latest_only', 'drop_oldest', 'adaptive'];

export function previewTokenFor(token: string): string {
  return createHmac('sha256', token).update('sidestream preview v1').digest('base64url');
}

const corsHeaders = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization',
  // Chromium asks before a page reaches a loopback address (Private Network Access).
  'Access-Control-Allow-Private-Network': 'true',
  'Access-Control-Max-Age': '600',
};

export interface PreviewRequest {
  streamId: string;
  width: number;
  height: number;
  quality: number;
  policy: BufferPolicyName;
  maxFps: number;
}

/** The request a preview URL asks for; a MediaError ('invalid-argument') naming the bad parameter. */
export function parsePreviewRequest(url: URL): PreviewRequest {
  let streamId: string;
  try {
    streamId = decodeURIComponent(url.pathname.slice(previewPathPrefix.length));
  } catch {
    throw new MediaError('invalid-argument', `the path ${url.pathname} is not percent-encoded correctly`);
  }
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(streamId)) throw new MediaError('invalid-argument', `"${streamId}" is not a stream id`);
  const integer = (name: string, min: number, max: number, fallback: number): number => {
    const raw = url.searchParams.get(name);
    if (raw === null || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new MediaError('invalid-argument', `${name} must be an integer ${min}–${max}; got "${raw}"`);
    return value;
  };
  const policy = (url.searchParams.get('policy') || 'latest_only') as BufferPolicyName;
  if (!previewPolicies.includes(policy)) throw new MediaError('invalid-argument', `policy must be one of ${previewPolicies.join(', ')}; got "${policy}"`);
  return {
    streamId,
    width: integer('width', 0, 7680, 0),
    height: integer('height', 0, 4320, 0),
    quality: integer('quality', 2, 31, subscribeDefaults.jpegQuality),
    policy,
    maxFps: integer('max_fps', 0, 240, 0),
  };
}

const statusOf: Record<MediaError['code'], number> = {
  'invalid-argument': 400,
  'not-found': 404,
  'already-exists': 409,
  unavailable: 503,
  'failed-precondition': 412,
  'resource-exhausted': 429,
  internal: 500,
};

/** One preview response as a subscriber's sink: a record's header and image go out in one write. */
function responseSink(response: ServerResponse): FrameSink<Delivery<DecodedFrame>> {
  return {
    write: ({ frame, droppedBefore }, flushed) => {
      const header = encodePreviewHeader(
        { sequence: frame.sequence, capturedAtMs: (frame.capturedAtUs || frame.decodedAtUs) / 1000, width: frame.width, height: frame.height, droppedBefore },
        frame.data.length,
      );
      response.cork();
      response.write(header);
      response.write(frame.data, () => flushed());
      response.uncork();
    },
    end: () => response.end(),
    fail: (error) => {
      log.debug(`preview: ${(error as Error).message}`);
      response.destroy();
    },
    onClose: (cancel) => void response.once('close', cancel),
  };
}

export class PreviewServer {
  private readonly server: Server;
  private readonly tokenDigest: Buffer;
  readonly token: string;
  url = '';

  constructor(
    private readonly streams: StreamRegistry,
    sidecarToken: string,
  ) {
    this.token = previewTokenFor(sidecarToken);
    this.tokenDigest = tokenDigest(this.token);
    this.server = createServer((request, response) => this.handle(request, response));
    this.server.requestTimeout = 10_000;
  }

  /** Listens on loopback, whatever address the gRPC server has: previews never leave the machine. */
  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.startsWith(previewPathPrefix)) return this.send(response, 404, `no such path ${url.pathname}; previews are at ${previewPathPrefix}<stream id>`);
    if (request.method === 'OPTIONS') {
      response.writeHead(204, corsHeaders).end();
      return;
    }
    if (request.method !== 'GET') {
      response.setHeader('Allow', 'GET, OPTIONS');
      return this.send(response, 405, `${request.method} is not allowed; use GET`);
    }
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) return this.send(response, 401, 'missing "Authorization: Bearer <preview token>"; the token is GetInfo\'s preview_token');
    if (!tokenMatches(token, this.tokenDigest)) return this.send(response, 401, 'the bearer token is not this sidecar\'s preview token (GetInfo\'s preview_token)');
    try {
      const wanted = parsePreviewRequest(url);
      const stream = this.streams.get(wanted.streamId);
      const subscriber = stream.subscribe({ format: 'jpeg', width: wanted.width, height: wanted.height, jpegQuality: wanted.quality }, videoQueue(wanted.policy, wanted.maxFps));
      response.writeHead(200, {
        ...corsHeaders,
        'Content-Type': 'application/octet-stream',
        // no-transform: a proxy on the way (code-server's compresses what it forwards) must pass records on as they come.
        'Cache-Control': 'no-store, no-transform',
        'X-Content-Type-Options': 'nosniff',
      });
      response.flushHeaders();
      deliver(responseSink(response), stream, subscriber, (delivery) => delivery, () => stream.unsubscribe(subscriber));
    } catch (error) {
      if (error instanceof MediaError) return this.send(response, statusOf[error.code], error.message);
      // Anything else is ours: the person gets a 500 with the reason, the sidecar goes on.
      log.warn(`preview ${url.pathname}: ${(error as Error).stack ?? String(error)}`);
      if (response.headersSent) response.destroy();
      else this.send(response, 500, `internal error: ${(error as Error).message}`);
    }
  }

  private send(response: ServerResponse, status: number, message: string): void {
    response.writeHead(status, { ...corsHeaders, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(`${message}\n`);
  }
}
