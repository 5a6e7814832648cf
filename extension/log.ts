import type * as vscode from 'vscode';

const linePattern = /^\[(trace|debug|info|warn|error)\] (.*)$/s;

/** Routes one sidecar stderr line (`[level] message`) to the matching level of the channel. */
export function logSidecarLine(channel: vscode.LogOutputChannel, line: string): void {
  const match = linePattern.exec(line);
  const message = `[sidecar] ${match ? match[2] : line}`;
  switch (match?.[1]) {
    case 'trace':
      channel.trace(message);
      break;
    case 'debug':
      channel.debug(message);
      break;
    case 'warn':
      channel.warn(message);
      break;
    case 'error':
      channel.error(message);
      break;
    default:
      channel.info(message);
  }
}
