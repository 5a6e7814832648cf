import { parseCommand, parseListenAddress, isLoopbackHost, UsageError } from './cli';
import { log, setLogLevel } from './log';
import { stopOnSignals, watchParent } from './lifecycle';
import { runningChildren, terminateAllChildren } from './processes';
import { startSidecarServer } from './server';
import { loadToken } from './token';
import { version } from './version';

const shutdownGraceMs = 5000;

async function main(): Promise<number> {
  const command = parseCommand(process.argv.slice(2));
  if (command.kind === 'help') {
    process.stdout.write(`${command.text}\n`);
    return 0;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  // The store's code loads only for `serve-store`, not in every sidecar.
  if (command.kind === 'serve-store') return (await import('./files/storeCommand')).runStoreCommand(command.options);

  const { options } = command;
  setLogLevel(options.logLevel);
  const token = await loadToken(options.tokenFile, process.env);
  const listen = parseListenAddress(options.listen);
  if (!isLoopbackHost(listen.host)) {
    log.warn(`listening on ${options.listen}, beyond loopback: anyone who can reach it and has the token can call the sidecar.`);
  }

  if (options.whip && !isLoopbackHost(parseListenAddress(options.whip.listen, '--whip-listen').host)) {
    log.warn(`WHIP endpoint on ${options.whip.listen}, beyond loopback: anyone who can reach it and has the token can publish media to the sidecar.`);
  }

  const server = await startSidecarServer({
    listen,
    whip: options.whip,
    token,
    tools: { ffmpegPath: options.ffmpegPath, ffprobePath: options.ffprobePath },
    env: process.env,
    cacheDir: options.cacheDir,
    cacheLimit: options.cacheLimit,
  });

  const stop = stopOnSignals(shutdownGraceMs, async () => {
    await Promise.all([server.shutdown(shutdownGraceMs), terminateAllChildren()]);
    return `stopped (${runningChildren()} children left)`;
  });
  if (options.watchParent) watchParent(stop);

  process.stdout.write(`${JSON.stringify({ address: server.address, pid: process.pid, version })}\n`);
  log.info(`Sidestream sidecar ${version} listening on ${server.address} (pid ${process.pid}, ${process.version})`);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`sidestream sidecar: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`[error] sidecar failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
