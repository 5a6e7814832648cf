import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthService } from '../proto/gen/grpc/health/v1/health';
import { SidecarServiceService } from '../proto/gen/sidestream/v1/sidecar';
import { bearerAuthInterceptor } from './auth';
import { type ListenAddress } from './cli';
import { HealthRegistry, ServingStatus } from './health';
import { sidecarService } from './info';
import { type ResolvedTool, type ToolSettings, resolveTools } from './tools';

/** Frames and model chunks travel in messages larger than grpc-js's 4 MiB default. */
export const maxMessageBytes = 64 * 1024 * 1024;

export const capabilities = ['health', 'info'];

export interface SidecarServer {
  address: string;
  health: HealthRegistry;
  /** Stops taking calls; calls in flight get `graceMs` before they are cut. */
  shutdown(graceMs: number): Promise<void>;
}

export interface SidecarServerOptions {
  listen: ListenAddress;
  token: string;
  tools: ToolSettings;
  env: NodeJS.ProcessEnv;
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function startSidecarServer(options: SidecarServerOptions): Promise<SidecarServer> {
  const server = new Server({
    interceptors: [bearerAuthInterceptor(options.token)],
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
  });
  const health = new HealthRegistry();
  let address = '';
  // Resolved once in the background; GetInfo waits for it.
  const tools: Promise<{ ffmpeg: ResolvedTool; ffprobe: ResolvedTool }> = resolveTools(options.tools, options.env);

  server.addService(HealthService, health.implementation);
  server.addService(
    SidecarServiceService,
    sidecarService({ address: () => address, tools: () => tools, capabilities: () => capabilities }),
  );

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(formatAddress(options.listen.host, options.listen.port), ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(new Error(`cannot listen on ${formatAddress(options.listen.host, options.listen.port)}: ${error.message}`)) : resolve(boundPort),
    );
  });
  address = formatAddress(options.listen.host, port);
  health.set('', ServingStatus.SERVING);
  health.set('sidestream.v1.SidecarService', ServingStatus.SERVING);

  return {
    address,
    health,
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        health.shutDown();
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

