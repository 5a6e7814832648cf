/**
 * The sidecar logs to stderr, one line per entry: `[level] message`. The extension
 * routes each line to the matching level of its LogOutputChannel; stdout carries
 * only the handshake line.
 */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const levelRank: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };
export const logLevels = Object.keys(levelRank) as LogLevel[];

let threshold: LogLevel = 'info';

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

function write(level: LogLevel, message: string): void {
  if (levelRank[level] < levelRank[threshold]) return;
  process.stderr.write(`[${level}] ${message.replace(/\n/g, '\n    ')}\n`);
}

export const log = {
  trace: (message: string) => write('trace', message),
  debug: (message: string) => write('debug', message),
  info: (message: string) => write('info', message),
  warn: (message: string) => write('warn', message),
  error: (message: string) => write('error', message),
};
