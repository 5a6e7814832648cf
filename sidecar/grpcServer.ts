import { type Server, ServerCredentials } from '@grpc/grpc-js';
import type { ListenAddress } from './cli';

/** Frames and model chunks travel in messages larger than grpc-js's 4 MiB default. */
export const maxMessageBytes = 64 * 1024 * 1024;

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Binds `server` (plain text) to `listen`; resolves with the bound address, the real port in it. */
export function bindServer(server: Server, listen: ListenAddress): Promise<string> {
  const where = formatAddress(listen.host, listen.port);
  return new Promise((resolve, reject) =>
    server.bindAsync(where, ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(new Error(`cannot listen on ${where}: ${error.message}`)) : resolve(formatAddress(listen.host, port)),
    ),
  );
}

/** Stops taking calls; calls in flight get `graceMs` before they are cut. */
export function shutdownServer(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
