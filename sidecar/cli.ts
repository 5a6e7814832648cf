import { parseArgs } from 'node:util';
import { type LogLevel, logLevels } from './log';

export interface ServeOptions {
  listen: string;
  tokenFile: string | undefined;
  ffmpegPath: string | undefined;
  ffprobePath: string | undefined;
  logLevel: LogLevel;
  watchParent: boolean;
}

export type Command =
  | { kind: 'serve'; options: ServeOptions }
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
  --ffmpeg PATH         The ffmpeg to run (else SIDESTREAM_FFMPEG, then the
                        ffmpeg-static package if installed, then PATH).
  --ffprobe PATH        The ffprobe to run (else SIDESTREAM_FFPROBE, then next to
                        the resolved ffmpeg, then PATH).
  --log-level LEVEL     trace, debug, info, warn or error (default info).
  --no-parent-watch     Keep running when the parent process goes away. By
                        default the sidecar exits when its stdin pipe closes or
                        its parent process exits, and takes its children along.
  --version             Print the version and exit.
  -h, --help            Print this help and exit.

Signals: SIGTERM and SIGINT shut down gracefully (calls in flight get 5 s).
Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad usage or missing token.`;

export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: 'string', default: '127.0.0.1:0' },
        'token-file': { type: 'string' },
        ffmpeg: { type: 'string' },
        ffprobe: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        'no-parent-watch': { type: 'boolean', default: false },
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
      tokenFile: values['token-file'],
      ffmpegPath: values.ffmpeg,
      ffprobePath: values.ffprobe,
      logLevel: logLevel as LogLevel,
      watchParent: !values['no-parent-watch'],
    },
  };
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses `host:port` or `[v6]:port`; port 0 asks the OS for a free port. */
export function parseListenAddress(text: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new UsageError(`--listen expects HOST:PORT such as 127.0.0.1:0 or [::1]:50051; got "${text}".`);
  }
  return { host: match[1] ?? match[2]!, port };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
