import { parseArgs } from 'node:util';
import { type LogLevel, logLevels } from './log';

export interface ServeOptions {
  listen: string;
  /** The WHIP server (WebRTC ingest); undefined when it is off. */
  whip: WhipOptions | undefined;
  tokenFile: string | undefined;
  ffmpegPath: string | undefined;
  ffprobePath: string | undefined;
  logLevel: LogLevel;
  watchParent: boolean;
  /** The model cache's folder; undefined: SIDESTREAM_CACHE_DIR, else the user's cache folder. */
  cacheDir: string | undefined;
  /** The model cache's size limit in bytes; 0 for none. */
  cacheLimit: number;
}

/** `serve-store DIR`: the reference model store server (sidecar/files/storeServer.ts). */
export interface StoreOptions {
  root: string;
  listen: string;
  token: string | undefined;
  tokenFile: string | undefined;
  /** Bytes per second per ReadFile stream; undefined for no cap. */
  rateLimit: number | undefined;
  logLevel: LogLevel;
}

export interface WhipOptions {
  listen: string;
  /** A session without RTP for this long ends, in milliseconds. */
  idleTimeoutMs: number;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
}

export type Command =
  | { kind: 'serve'; options: ServeOptions }
  | { kind: 'serve-store'; options: StoreOptions }
  | { kind: 'help'; text: string }
  | { kind: 'version' };

export class UsageError extends Error {}

export const helpText = `Usage: node dist/sidecar.js [options]

Runs the Sidestream sidecar: a gRPC server (health, sidecar info; later models
and streams) for the VS Code extension and for programs in any language.

On start it prints exactly one JSON line on stdout,
  {"address":"127.0.0.1:PORT","pid":PID,"version":"X.Y.Z"}
and logs to stderr. Every call must carry the metadata
  authorization: Bearer <token>
with the token from the environment variable SIDESTREAM_TOKEN or --token-file.

Options:
  --listen HOST:PORT    Address to listen on (default 127.0.0.1:0, a free port on
                        loopback). Anything other than loopback exposes the
                        sidecar to the network; the token is still required.
  --token-file PATH     Read the bearer token from PATH (first line, trimmed)
                        instead of SIDESTREAM_TOKEN.
  --whip-listen HOST:PORT
                        Address of the WHIP endpoint for WebRTC ingest (default
                        127.0.0.1:0, loopback; "off" turns it off). POST offers to
                        http://HOST:PORT/whip/<name> with the bearer token; the
                        publisher page is at /publish. A non-loopback address lets
                        phones on the network publish (logged as a warning).
  --whip-timeout SECONDS
                        End a WHIP session after this long without media from
                        its publisher (default 5).
  --whip-tls-cert PATH  PEM certificate for the WHIP endpoint: serve HTTPS (a
                        phone's browser opens its camera only on HTTPS pages).
  --whip-tls-key PATH   PEM private key for --whip-tls-cert.
  --ffmpeg PATH         The ffmpeg to run (else SIDESTREAM_FFMPEG, then the
                        ffmpeg-static package if installed, then PATH).
  --ffprobe PATH        The ffprobe to run (else SIDESTREAM_FFPROBE, then next to
                        the resolved ffmpeg, then PATH).
  --log-level LEVEL     trace, debug, info, warn or error (default info).
  --cache-dir PATH      The model file cache (default SIDESTREAM_CACHE_DIR, else
                        $XDG_CACHE_HOME/sidestream/models or ~/.cache/...). Several
                        sidecars and other programs may share one cache folder.
  --cache-limit BYTES   Evict least-recently-used model files beyond this size
                        (e.g. 20Gi; default 0, no limit). Pinned files and files
                        being fetched are never evicted.
  --no-parent-watch     Keep running when the parent process goes away. By
                        default the sidecar exits when its stdin pipe closes or
                        its parent process exits, and takes its children along.
  --version             Print the version and exit.
  -h, --help            Print this help and exit.

Signals: SIGTERM and SIGINT shut down gracefully (calls in flight get 5 s).
Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad usage or missing token.

Commands:
  serve-store DIR       Run the reference model store server instead (see
                        node dist/sidecar.js serve-store --help).`;

export const storeHelpText = `Usage: node dist/sidecar.js serve-store DIR [options]

Serves the folder DIR read-only over the model store protocol
(sidestream.store.v1.ModelStoreService, proto/sidestream/store/v1/model_store.proto):
paged listings, sha256 (computed once per file while its size, modification time
and inode stay the same), byte ranges streamed with flow control. Paths that leave
DIR (.., absolute paths, NUL, backslashes) are INVALID_ARGUMENT; symbolic links
that lead outside DIR are NOT_FOUND.

On start it prints exactly one JSON line on stdout,
  {"address":"127.0.0.1:PORT","pid":PID,"version":"X.Y.Z","root":"/real/DIR"}
and logs to stderr.

Options:
  --listen HOST:PORT    Address to listen on (default 127.0.0.1:0, a free port on
                        loopback). Anything else exposes DIR to the network.
  --token TOKEN         Require "authorization: Bearer TOKEN" on every call. The
                        token is visible to other users in the process list;
                        prefer --token-file. Without a token the store is open to
                        anyone who can reach the address.
  --token-file PATH     Read the token from PATH (first line, trimmed).
  --rate-limit BYTES_PER_SECOND
                        Cap every ReadFile stream at this many bytes per second
                        (for tests and benchmarks; suffixes k, M, G = 1000^n and
                        Ki, Mi, Gi = 1024^n are accepted, e.g. 40M).
  --log-level LEVEL     trace, debug, info, warn or error (default info); debug
                        logs one "hashing PATH" line per sha256 computed.
  -h, --help            Print this help and exit.

Signals: SIGTERM and SIGINT shut down gracefully (calls in flight get 5 s).
Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad usage (DIR missing or not
a folder, unreadable token file).`;

export function parseCommand(argv: readonly string[]): Command {
  if (argv[0] === 'serve-store') return parseStoreCommand(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: 'string', default: '127.0.0.1:0' },
        'token-file': { type: 'string' },
        'whip-listen': { type: 'string', default: '127.0.0.1:0' },
        'whip-timeout': { type: 'string', default: '5' },
        'whip-tls-cert': { type: 'string' },
        'whip-tls-key': { type: 'string' },
        ffmpeg: { type: 'string' },
        ffprobe: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        'no-parent-watch': { type: 'boolean', default: false },
        'cache-dir': { type: 'string' },
        'cache-limit': { type: 'string', default: '0' },
        version: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nRun with --help to see the options.`);
  }
  const { values } = parsed;
  if (values.help) return { kind: 'help', text: helpText };
  if (values.version) return { kind: 'version' };

  const logLevel = values['log-level'] as string;
  if (!logLevels.includes(logLevel as LogLevel)) {
    throw new UsageError(`--log-level must be one of ${logLevels.join(', ')}; got "${logLevel}".`);
  }
  const listen = values.listen as string;
  parseListenAddress(listen);
  return {
    kind: 'serve',
    options: {
      listen,
      whip: parseWhipOptions(values),
      tokenFile: values['token-file'],
      ffmpegPath: values.ffmpeg,
      ffprobePath: values.ffprobe,
      logLevel: logLevel as LogLevel,
      watchParent: !values['no-parent-watch'],
      cacheDir: values['cache-dir'],
      cacheLimit: parseByteCount(values['cache-limit'] as string, '--cache-limit'),
    },
  };
}

function parseStoreCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        listen: { type: 'string', default: '127.0.0.1:0' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        'rate-limit': { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nRun serve-store --help to see the options.`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help', text: storeHelpText };
  if (positionals.length !== 1) {
    throw new UsageError(`serve-store takes one folder to serve (serve-store DIR); got ${positionals.length === 0 ? 'none' : positionals.join(' ')}.`);
  }
  const logLevel = values['log-level'] as string;
  if (!logLevels.includes(logLevel as LogLevel)) {
    throw new UsageError(`--log-level must be one of ${logLevels.join(', ')}; got "${logLevel}".`);
  }
  const listen = values.listen as string;
  parseListenAddress(listen);
  if (values.token !== undefined && values['token-file'] !== undefined) {
    throw new UsageError('pass either --token or --token-file, not both.');
  }
  if (values.token !== undefined && values.token.trim() === '') throw new UsageError('--token is empty.');
  const rate = values['rate-limit'];
  return {
    kind: 'serve-store',
    options: {
      root: positionals[0]!,
      listen,
      token: values.token?.trim(),
      tokenFile: values['token-file'],
      rateLimit: rate === undefined ? undefined : parseByteRate(rate),
      logLevel: logLevel as LogLevel,
    },
  };
}

const rateUnits: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** "10000000", "10M", "40Mi", "1.5G" (an optional trailing "B") → bytes; 0 allowed. */
export function parseByteCount(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(k|M|G|Ki|Mi|Gi)?(?:B(?:\/s)?)?$/.exec(text.trim());
  const value = match ? Math.floor(Number(match[1]) * rateUnits[match[2] ?? '']!) : NaN;
  if (!match || !Number.isSafeInteger(value)) throw new UsageError(`${flag} expects a number of bytes such as 10000000, 10M or 40Mi; got "${text}".`);
  return value;
}

/** "10000000", "10M", "40Mi", "1.5G" (an optional trailing "B" or "B/s") → bytes per second, at least 1. */
export function parseByteRate(text: string): number {
  const value = parseByteCount(text, '--rate-limit');
  if (value < 1) throw new UsageError(`--rate-limit expects bytes per second such as 10000000, 10M or 40Mi; got "${text}".`);
  return value;
}

function parseWhipOptions(values: Record<string, string | boolean | undefined>): WhipOptions | undefined {
  const listen = values['whip-listen'] as string;
  if (listen === 'off') return undefined;
  parseListenAddress(listen, '--whip-listen');
  const seconds = Number(values['whip-timeout']);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new UsageError(`--whip-timeout expects seconds between 0 and 3600 such as 5 or 0.5; got "${values['whip-timeout']}".`);
  }
  const tlsCert = values['whip-tls-cert'] as string | undefined;
  const tlsKey = values['whip-tls-key'] as string | undefined;
  if (!tlsCert !== !tlsKey) throw new UsageError('--whip-tls-cert and --whip-tls-key go together.');
  return { listen, idleTimeoutMs: Math.round(seconds * 1000), tlsCert, tlsKey };
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses `host:port` or `[v6]:port`; port 0 asks the OS for a free port. */
export function parseListenAddress(text: string, flag = '--listen'): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new UsageError(`${flag} expects HOST:PORT such as 127.0.0.1:0 or [::1]:50051; got "${text}".`);
  }
  return { host: match[1] ?? match[2]!, port };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
