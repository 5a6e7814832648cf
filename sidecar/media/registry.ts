import { EventEmitter } from 'node:events';
import type { OpenStreamRequest } from '../../proto/gen/sidestream/v1/streams';
import { log } from '../log';
import { type StreamConfig, MediaStream, type StreamTools } from './stream';
import { parseSourceUri } from './uri';
import { MediaError, type SourceSpec } from './types';

export const streamDefaults = {
  watchdogMs: 10_000,
  idleTimeoutMs: 30_000,
  reconnectInitialDelayMs: 1000,
  reconnectMaxDelayMs: 30_000,
};

const idPattern = /^[A-Za-z0-9._-]{1,64}$/;

/** The open streams of one sidecar; emits 'changed' when one opens, closes or changes state. */
export class StreamRegistry extends EventEmitter {
  private readonly streams = new Map<string, MediaStream>();
  private counter = 0;

  constructor(private readonly tools: StreamTools) {
    super();
    this.setMaxListeners(0);
  }

  async open(request: OpenStreamRequest): Promise<MediaStream> {
    const spec = parseSourceUri(request.uri, this.tools.platform);
    if (request.id && !idPattern.test(request.id)) {
      throw new MediaError('invalid-argument', `stream id "${request.id}" must be 1–64 letters, digits, ".", "_" or "-"`);
    }
    const existing = request.id ? this.streams.get(request.id) : undefined;
    if (existing) {
      if (existing.config.spec.uri !== spec.uri) {
        throw new MediaError('failed-precondition', `stream "${request.id}" is already open with ${existing.config.spec.uri}; close it first or choose another id`);
      }
      return existing;
    }
    const id = request.id || this.newId(spec);
    const reconnect = request.reconnect;
    const config: StreamConfig = {
      id,
      name: request.name || defaultName(spec),
      spec,
      hwaccel: request.decode?.hwaccel || 'auto',
      reconnect: {
        enabled: reconnect?.enabled ?? spec.live,
        initialDelayMs: reconnect?.initialDelayMs || streamDefaults.reconnectInitialDelayMs,
        maxDelayMs: reconnect?.maxDelayMs || streamDefaults.reconnectMaxDelayMs,
        maxAttempts: reconnect?.maxAttempts ?? 0,
      },
      watchdogMs: request.watchdogMs || streamDefaults.watchdogMs,
      idleTimeoutMs: request.idleTimeoutMs || streamDefaults.idleTimeoutMs,
    };
    const stream = new MediaStream(config, this.tools);
    // Files are probed now, so that a missing or broken file fails the open with a clear
    // error; feeds are looked up, so that a publisher who is not there is NOT_FOUND.
    if (spec.kind === 'file' || spec.kind === 'feed') await stream.prepare();
    if (this.streams.has(id)) return this.streams.get(id)!;
    this.streams.set(id, stream);
    const changed = () => this.emit('changed');
    stream.on('state', changed);
    stream.once('closed', () => {
      this.streams.delete(id);
      stream.off('state', changed);
      changed();
    });
    changed();
    log.info(`stream ${id} opened: ${spec.uri}`);
    return stream;
  }

  get(id: string): MediaStream {
    const stream = this.streams.get(id);
    if (!stream) {
      const open = [...this.streams.keys()];
      throw new MediaError('not-found', `no open stream "${id}"${open.length ? ` (open: ${open.join(', ')})` : ''}; open it with OpenStream first`);
    }
    return stream;
  }

  list(): MediaStream[] {
    return [...this.streams.values()];
  }

  async close(id: string): Promise<void> {
    await this.get(id).close();
    log.info(`stream ${id} closed`);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.list().map((stream) => stream.close()));
  }

  private newId(spec: SourceSpec): string {
    let id: string;
    do id = `${spec.kind}-${++this.counter}`;
    while (this.streams.has(id));
    return id;
  }
}

function defaultName(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'test':
      if (!spec.video) return `Test tone ${spec.tone?.frequency ?? 0} Hz`;
      return `Test pattern ${spec.width}x${spec.height}@${spec.rate}`;
    case 'file':
      return spec.path.split(/[\\/]/).pop() ?? spec.path;
    case 'camera':
      return `Camera ${spec.device}`;
    case 'screen':
      return `Screen ${spec.display}`;
    case 'mic':
      return `Microphone ${spec.device}`;
    case 'feed':
      return `${spec.scheme.toUpperCase()} ${spec.name}`;
    case 'network': {
      try {
        const url = new URL(spec.url);
        return `${url.protocol.replace(':', '')}://${url.host}${url.pathname}`;
      } catch {
        return spec.url;
      }
    }
  }
}
