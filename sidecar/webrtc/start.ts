import { readFile } from 'node:fs/promises';
import type { WhipOptions } from '../cli';
import { parseListenAddress } from '../cli';
import { log } from '../log';
import type { FeedRegistry } from '../media/feeds';
import { WhipServer } from './whipServer';

export interface WhipHandle {
  /** Where publishers POST, `<url>/<name>`. */
  url: string;
  /** The publisher page. */
  publishUrl: string;
  server: WhipServer;
  close(): Promise<void>;
}

/** Starts the WHIP endpoint the sidecar's options ask for. */
export async function startWhip(options: WhipOptions, token: string, feeds: FeedRegistry): Promise<WhipHandle> {
  const { host, port } = parseListenAddress(options.listen, '--whip-listen');
  const tls =
    options.tlsCert && options.tlsKey
      ? await Promise.all([readFile(options.tlsCert), readFile(options.tlsKey)]).then(
          ([cert, key]) => ({ cert, key }),
          (error: Error) => {
            throw new Error(`cannot read the WHIP TLS certificate or key: ${error.message}`);
          },
        )
      : undefined;
  const server = new WhipServer({ host, port, token, feeds, idleTimeoutMs: options.idleTimeoutMs, ...(tls ? { tls } : {}) });
  await server.start();
  log.info(`WHIP endpoint ${server.whipUrl}/<name>, publisher page ${server.publishUrl}`);
  return { url: server.whipUrl, publishUrl: server.publishUrl, server, close: () => server.close() };
}
