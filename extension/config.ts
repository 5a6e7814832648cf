import * as vscode from 'vscode';

export type SidecarLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface SidestreamConfig {
  ffmpegPath: string;
  ffprobePath: string;
  listenAddress: string;
  logLevel: SidecarLogLevel;
  /** The WHIP endpoint's HOST:PORT, or "off". */
  webrtcListenAddress: string;
}

export const configSection = 'sidestream';

/** Settings whose change needs a new sidecar process. */
export const sidecarSettings = ['ffmpegPath', 'ffprobePath', 'sidecar.listenAddress', 'sidecar.logLevel', 'webrtc.listenAddress'].map(
  (key) => `${configSection}.${key}`,
);

export function readConfig(): SidestreamConfig {
  const config = vscode.workspace.getConfiguration(configSection);
  return {
    ffmpegPath: config.get<string>('ffmpegPath', '').trim(),
    ffprobePath: config.get<string>('ffprobePath', '').trim(),
    listenAddress: config.get<string>('sidecar.listenAddress', '127.0.0.1:0').trim() || '127.0.0.1:0',
    logLevel: config.get<SidecarLogLevel>('sidecar.logLevel', 'info'),
    webrtcListenAddress: config.get<string>('webrtc.listenAddress', '127.0.0.1:0').trim() || '127.0.0.1:0',
  };
}

/** The sidecar's command-line arguments for these settings. */
export function sidecarArgs(config: SidestreamConfig): string[] {
  const args = ['--listen', config.listenAddress, '--log-level', config.logLevel, '--whip-listen', config.webrtcListenAddress];
  if (config.ffmpegPath) args.push('--ffmpeg', config.ffmpegPath);
  if (config.ffprobePath) args.push('--ffprobe', config.ffprobePath);
  return args;
}
