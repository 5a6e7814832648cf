import { fstatSync } from 'node:fs';
import { log } from './log';

/**
 * Calls `onGone` once when the process that started the sidecar goes away: its
 * stdin pipe closes, its IPC channel disconnects, or we are re-parented. A stdin
 * that is a terminal or /dev/null is not watched (a sidecar started by hand with
 * `&` would otherwise exit at once).
 */
export function watchParent(onGone: (reason: string) => void): () => void {
  let fired = false;
  const fire = (reason: string) => {
    if (fired) return;
    fired = true;
    onGone(reason);
  };

  let stdinIsPipe = false;
  try {
    const stats = fstatSync(0);
    stdinIsPipe = stats.isFIFO() || stats.isSocket();
  } catch {
    // No stdin at all: nothing to watch there.
  }
  if (stdinIsPipe) {
    process.stdin.on('data', () => undefined);
    process.stdin.once('end', () => fire('stdin closed'));
    process.stdin.once('close', () => fire('stdin closed'));
    process.stdin.once('error', () => fire('stdin failed'));
    process.stdin.resume();
  }
  if (process.send) process.once('disconnect', () => fire('IPC channel to parent closed'));

  const originalParent = process.ppid;
  const poll = setInterval(() => {
    if (process.ppid !== originalParent) fire(`parent process ${originalParent} exited`);
  }, 1000);
  poll.unref();

  log.debug(`watching parent ${originalParent} (stdin pipe: ${stdinIsPipe}, ipc: ${Boolean(process.send)})`);
  return () => {
    fired = true;
    clearInterval(poll);
    process.stdin.pause();
    process.stdin.unref?.();
  };
}

/**
 * Runs `shutdown` once, on SIGTERM, SIGINT or a call of the returned function, then
 * exits 0 (1 if it takes longer than `graceMs` plus 3 s). `shutdown` resolves with the
 * line to log when it is done.
 */
export function stopOnSignals(graceMs: number, shutdown: () => Promise<string>): (reason: string) => void {
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) => {
    stopping ??= (async () => {
      log.info(`shutting down: ${reason}`);
      const forceExit = setTimeout(() => {
        log.error('shutdown took too long; exiting now');
        process.exit(1);
      }, graceMs + 3000);
      forceExit.unref();
      log.info(await shutdown());
      process.exit(0);
    })();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return stop;
}
