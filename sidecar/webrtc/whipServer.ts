import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { log } from '../log';
import type { FeedRegistry } from '../media/feeds';
import { publisherPage, publisherScript } from './publisherPage';
import { bearerToken, tokenDigest, tokenMatches } from '../auth';
import { isSdpContentType, publishPath, route, whipPathPrefix } from './routes';
import type { WhipSession } from './session';
import { WhipError } from './whipError';

export interface WhipServerOptions {
  host: string;
  port: number;
  token: string;
  feeds: FeedRegistry;
  /** A session without RTP for this long ends. */
  idleTimeoutMs: number;
  /** PEM certificate and key: serve HTTPS (a phone's browser needs it for its camera). */
  tls?: { cert: Buffer; key: Buffer };
}

const maxOfferBytes = 128 * 1024;

/**
 * The WHIP endpoint (RFC 9725) of the sidecar: an HTTP server (loopback unless the
 * user says otherwise) whose POSTs start WebRTC sessions that become feeds, decoded as
 * `whip:<name>` streams. POST, PATCH and DELETE need the sidecar's bearer token.
 */
export class WhipServer {
  private readonly server: Server;
  private readonly sessions = new Map<string, WhipSession>();
  private readonly tokenDigest: Buffer;
  private baseUrl = '';

  constructor(private readonly options: WhipServerOptions) {
    this.tokenDigest = tokenDigest(options.token);
    const handler = (request: IncomingMessage, response: ServerResponse) => {
      this.handle(request, response).catch((error: Error) => {
        log.warn(`whip: ${request.method} ${pathOf(request)} failed: ${error.message}`);
        if (!response.headersSent) this.send(response, 500, `internal error: ${error.message}`);
        else response.destroy();
      });
    };
    this.server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttpServer(handler);
    this.server.requestTimeout = 30_000;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: Error) => reject(new Error(`WHIP: cannot listen on ${this.options.host}:${this.options.port}: ${error.message}`)));
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    const reachable = advertisedHost(this.options.host);
    const host = reachable.includes(':') ? `[${reachable}]` : reachable;
    this.baseUrl = `${this.options.tls ? 'https' : 'http'}://${host}:${port}`;
    return this.baseUrl;
  }

  /** Where publishers POST: `<url>/<name>`. */
  get whipUrl(): string {
    return `${this.baseUrl}${whipPathPrefix}`;
  }

  get publishUrl(): string {
    return `${this.baseUrl}${publishPath}`;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) session.end('the sidecar is shutting down');
    this.sessions.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private authorized(request: IncomingMessage): boolean {
    return tokenMatches(bearerToken(request.headers.authorization), this.tokenDigest);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const target = route(method, request.url ?? '/');
    this.cors(response);
    switch (target.kind) {
      case 'page': {
        const nonce = randomBytes(16).toString('base64');
        response.setHeader('Content-Security-Policy', pageCsp(nonce));
        response.setHeader('Cache-Control', 'no-store');
        response.setHeader('X-Content-Type-Options', 'nosniff');
        response.setHeader('Referrer-Policy', 'no-referrer');
        return this.send(response, 200, publisherPage(nonce), 'text/html; charset=utf-8', method === 'HEAD');
      }
      case 'script':
        response.setHeader('Cache-Control', 'no-store');
        response.setHeader('X-Content-Type-Options', 'nosniff');
        return this.send(response, 200, publisherScript, 'text/javascript; charset=utf-8', method === 'HEAD');
      case 'options':
        response.setHeader('Accept-Post', 'application/sdp');
        response.writeHead(204).end();
        return;
      case 'method-not-allowed':
        response.setHeader('Allow', target.allow.join(', '));
        return this.send(response, 405, `${method} is not allowed here; allowed: ${target.allow.join(', ')}`);
      case 'bad-name':
        return this.send(response, 400, `a publisher's name is 1–64 letters, digits, ".", "_" or "-"; got "${target.name}"`);
      case 'not-found':
        return this.send(response, 404, `nothing here; POST an SDP offer to ${whipPathPrefix}/<name>, or open ${publishPath}`);
    }
    if (!this.authorized(request)) {
      request.resume();
      response.setHeader('WWW-Authenticate', 'Bearer realm="sidestream", error="invalid_token"');
      return this.send(response, 401, "missing or wrong bearer token: send \"Authorization: Bearer <token>\" with the sidecar's token");
    }
    switch (target.kind) {
      case 'offer':
        return this.offer(request, response, target.name);
      case 'delete': {
        request.resume();
        const session = this.sessionOf(target.name, target.session);
        if (!session) return this.send(response, 404, `no WHIP session ${target.session} for "${target.name}"`);
        this.sessions.delete(session.id);
        session.end('the publisher ended the session (DELETE)');
        return this.send(response, 200, 'session ended');
      }
      case 'patch': {
        request.resume();
        const session = this.sessionOf(target.name, target.session);
        if (!session) return this.send(response, 404, `no WHIP session ${target.session} for "${target.name}"`);
        response.setHeader('Allow', 'DELETE, OPTIONS');
        return this.send(response, 405, 'trickle ICE and ICE restarts (PATCH) are not supported: send every candidate in the offer (wait for ICE gathering to complete)');
      }
    }
  }

  private sessionOf(name: string, id: string): WhipSession | undefined {
    const session = this.sessions.get(id);
    return session && session.name === name && !session.over ? session : undefined;
  }

  private async offer(request: IncomingMessage, response: ServerResponse, name: string): Promise<void> {
    if (!isSdpContentType(request.headers['content-type'])) {
      request.resume();
      return this.send(response, 415, `the offer must be sent as Content-Type: application/sdp; got "${request.headers['content-type'] ?? ''}"`);
    }
    let body: string;
    try {
      body = await readBody(request, maxOfferBytes);
    } catch (error) {
      return this.send(response, 413, (error as Error).message);
    }
    if (this.options.feeds.get(name)) return this.send(response, 409, `a publisher named "${name}" is connected already; pick another name or DELETE its session first`);
    let created: { session: WhipSession; answer: string };
    try {
      // werift loads on the first publisher, not at the sidecar's start (it costs ~80 ms).
      const { WhipSession } = await import('./session');
      created = await WhipSession.create({ name, offer: body, iceHost: iceHostOf(this.options.host), idleTimeoutMs: this.options.idleTimeoutMs });
    } catch (error) {
      const status = error instanceof WhipError ? error.status : 500;
      log.info(`whip ${name}: offer refused (${status}): ${(error as Error).message}`);
      return this.send(response, status, (error as Error).message);
    }
    const { session, answer } = created;
    // Another POST for the same name may have won while this one was answered.
    if (this.options.feeds.get(name)) {
      session.end('a publisher of that name connected first');
      return this.send(response, 409, `a publisher named "${name}" is connected already`);
    }
    this.sessions.set(session.id, session);
    void session.ended.then(() => this.sessions.delete(session.id));
    this.options.feeds.add(session);
    log.info(`whip ${name}: session ${session.id} (${[session.videoCodec, session.audioCodec].filter(Boolean).join(' + ')})`);
    response.setHeader('Location', `${whipPathPrefix}/${encodeURIComponent(name)}/${session.id}`);
    response.setHeader('ETag', session.etag);
    this.send(response, 201, answer, 'application/sdp');
  }

  private cors(response: ServerResponse): void {
    response.setHeader('Access-Control-Allow-Origin', '*');
    response.setHeader('Access-Control-Allow-Methods', 'POST, DELETE, PATCH, OPTIONS, GET');
    response.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match');
    response.setHeader('Access-Control-Expose-Headers', 'Location, ETag, Link, Accept-Post, WWW-Authenticate');
    response.setHeader('Access-Control-Max-Age', '600');
  }

  private send(response: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', headOnly = false): void {
    response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    response.end(headOnly ? undefined : body);
  }
}

/** The request's path without query or fragment: the only part that is logged (a token in a query stays out of the log). */
function pathOf(request: IncomingMessage): string {
  return (request.url ?? '/').split(/[?#]/)[0]!;
}

function readBody(request: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error(`the offer is larger than ${limit} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });
}

/** The address a URL names for a listen host: for "every interface", this machine's first LAN address. */
export function advertisedHost(host: string, interfaces = networkInterfaces()): string {
  if (host !== '0.0.0.0' && host !== '::') return host;
  for (const entries of Object.values(interfaces)) {
    const lan = entries?.find((entry) => entry.family === 'IPv4' && !entry.internal);
    if (lan) return lan.address;
  }
  return '127.0.0.1';
}

/** The IPv4 address ICE binds for a listen host (werift's ICE here runs on IPv4). */
export function iceHostOf(host: string): string {
  if (host === 'localhost' || host === '::1') return '127.0.0.1';
  if (host === '::' || host === '0.0.0.0') return '0.0.0.0';
  return host;
}

export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "media-src 'self' blob: mediastream:",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
