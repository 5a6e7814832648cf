import type { GetInfoResponse, SidecarServiceServer, ToolInfo } from '../proto/gen/sidestream/v1/sidecar';
import type { ResolvedTool } from './tools';
import { version } from './version';

export interface InfoSource {
  address: () => string;
  tools: () => Promise<{ ffmpeg: ResolvedTool; ffprobe: ResolvedTool }>;
  hwaccels: () => Promise<string[]>;
  capabilities: () => string[];
}

const toToolInfo = (tool: ResolvedTool): ToolInfo => ({ ...tool });

export function sidecarService(source: InfoSource): SidecarServiceServer {
  return {
    getInfo: (_call, callback) => {
      Promise.all([source.tools(), source.hwaccels()]).then(
        ([{ ffmpeg, ffprobe }, hwaccels]) => {
          const info: GetInfoResponse = {
            version,
            pid: process.pid,
            uptimeSeconds: process.uptime(),
            address: source.address(),
            ffmpeg: toToolInfo(ffmpeg),
            ffprobe: toToolInfo(ffprobe),
            capabilities: source.capabilities(),
            runtimeVersion: process.version,
            platform: `${process.platform}-${process.arch}`,
            hwaccels,
          };
          callback(null, info);
        },
        (error: Error) => callback(error),
      );
    },
  };
}
