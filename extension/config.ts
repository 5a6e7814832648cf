import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { parseByteSize } from './modelFormat';

export type SidecarLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface SidestreamConfig {
  ffmpegPath: string;
  ffprobePath: string;
  listenAddress: string;
  logLevel: SidecarLogLevel;
  /** The WHIP endpoint's HOST:PORT, or "off". */
  webrtcListenAddress: string;
  /** `sidestream.modelCache.folder`; "" for the default (the extension's global storage). */
  modelCacheFolder: string;
  /** `sidestream.modelCache.maxSize` in bytes; 0 for no limit (also when the setting is not a size). */
  modelCacheLimit: number;
}

/** Per-fetch settings (`sidestream.modelFetch.*`), read at each fetch; 0 lets the sidecar choose. */
export interface ModelFetchConfig {
  concurrency: number;
  chunkBytes: number;
  maxBytesPerSecond: number;
}

export const configSection = 'sidestream';

/** Settings whose change needs a new sidecar process. */
export const sidecarSettings = ['ffmpegPath', 'ffprobePath', 'sidecar.listenAddress', 'sidecar.logLevel', 'webrtc.listenAddress', 'modelCache.folder', 'modelCache.maxSize'].map(
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
    modelCacheFolder: config.get<string>('modelCache.folder', '').trim().replace(/^~(?=$|\/)/, homedir()),
    modelCacheLimit: parseByteSize(config.get<string | number>('modelCache.maxSize', '')) ?? 0,
  };
}

export function readModelFetchConfig(): ModelFetchConfig {
  const config = vscode.workspace.getConfiguration(configSection);
  const count = (key: string) => Math.max(0, Math.floor(Number(config.get<number>(key, 0)) || 0));
  return {
    concurrency: count('modelFetch.concurrency'),
    chunkBytes: parseByteSize(config.get<string | number>('modelFetch.chunkSize', '')) ?? 0,
    maxBytesPerSecond: parseByteSize(config.get<string | number>('modelFetch.maxBytesPerSecond', '')) ?? 0,
  };
}

/** The sidecar's command-line arguments for these settings. */
export function sidecarArgs(config: SidestreamConfig, defaultModelCacheFolder: string): string[] {
  const args = ['--listen', config.listenAddress, '--log-level', config.logLevel, '--whip-listen', config.webrtcListenAddress];
  args.push('--cache-dir', config.modelCacheFolder || defaultModelCacheFolder, '--cache-limit', String(config.modelCacheLimit));
  if (config.ffmpegPath) args.push('--ffmpeg', config.ffmpegPath);
  if (config.ffprobePath) args.push('--ffprobe', config.ffprobePath);
  return args;
}
