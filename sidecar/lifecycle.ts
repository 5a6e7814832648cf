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
