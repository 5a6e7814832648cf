// `node dist/sidecar.js serve-store DIR`: runs the reference model store server until
// SIGTERM or SIGINT. Prints one JSON handshake line on stdout; logs go to stderr.
import { stat } from 'node:fs/promises';
import { isLoopbackHost, parseListenAddress, type StoreOptions, UsageError } from '../cli';
import { stopOnSignals } from '../lifecycle';
import { log, setLogLevel } from '../log';
import { readTokenFile } from '../token';
import { version } from '../version';
import { startStoreServer } from './storeServer';

const shutdownGraceMs = 5000;

async function loadStoreToken(options: StoreOptions): Promise<string | undefined> {
  if (options.token !== undefined) return options.token;
  if (options.tokenFile === undefined) return undefined;
  const token = await readTokenFile(options.tokenFile);
  if (token === '') throw new UsageError(`--token-file ${options.tokenFile} is empty; its first line is the token.`);
  return token;
}

/** Starts the store and keeps it running; resolves -1 (the process stays up until a signal). */
export async function runStoreCommand(options: StoreOptions): Promise<number> {
  setLogLevel(options.logLevel);
  const stats = await stat(options.root).catch((error: unknown) => {
    throw new UsageError(`serve-store: cannot serve ${options.root}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (error as Error).message}.`);
  });
  if (!stats.isDirectory()) throw new UsageError(`serve-store: ${options.root} is not a folder; pass the folder to serve.`);
  const token = await loadStoreToken(options);
  const listen = parseListenAddress(options.listen);
  if (!isLoopbackHost(listen.host)) {
    log.warn(`listening on ${options.listen}, beyond loopback: anyone who can reach it${token ? ' and has the token' : ''} can read ${options.root}.`);
  }
  if (!token) log.info('no token: every caller that can reach the address can read the store (pass --token-file to require one).');

  const server = await startStoreServer({ root: options.root, listen, token, rateLimit: options.rateLimit });

  stopOnSignals(shutdownGraceMs, async () => {
    await server.shutdown(shutdownGraceMs);
    return 'stopped';
  });

  process.stdout.write(`${JSON.stringify({ address: server.address, pid: process.pid, version, root: server.root })}\n`);
  log.info(
    `Sidestream model store ${version} serving ${server.root} on ${server.address} (pid ${process.pid}` +
      `${options.rateLimit ? `, ${options.rateLimit} bytes/s per stream` : ''}${token ? ', token required' : ''})`,
  );
  return -1;
}
