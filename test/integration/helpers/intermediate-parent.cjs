// Stands in for the VS Code extension host in the parent-death tests: starts the
// sidecar, prints one JSON line {sidecarPid, handshake}, then idles until killed.
//
//   node intermediate-parent.cjs MODE SIDECAR_SCRIPT [SIDECAR_ARGS...]
//
// MODE is how the sidecar's stdin is connected, and so which parent watch applies:
//   pipe    stdin is a pipe from this process (closes when this process dies)
//   ignore  stdin is /dev/null: only the parent-pid check can notice our death
//   ipc     stdin is /dev/null plus a node IPC channel, as with child_process.fork
// The sidecar gets its own process group so that the test can find and kill
// everything it started; its stderr is ours, so the test sees its log.
'use strict';
const { spawn } = require('node:child_process');
const { createInterface } = require('node:readline');

const [mode, script, ...args] = process.argv.slice(2);
const stdio = {
  pipe: ['pipe', 'pipe', 'inherit'],
  ignore: ['ignore', 'pipe', 'inherit'],
  ipc: ['ignore', 'pipe', 'inherit', 'ipc'],
}[mode];
if (!stdio || !script) {
  process.stderr.write('usage: intermediate-parent.cjs pipe|ignore|ipc SIDECAR_SCRIPT [ARGS...]\n');
  process.exit(2);
}

const sidecar = spawn(process.execPath, [script, ...args], { stdio, detached: true });
createInterface({ input: sidecar.stdout }).once('line', (handshake) => {
  process.stdout.write(`${JSON.stringify({ sidecarPid: sidecar.pid, handshake: JSON.parse(handshake) })}\n`);
});
sidecar.once('exit', (code, signal) => {
  process.stderr.write(`[intermediate-parent] sidecar exited before we did (code ${code}, signal ${signal})\n`);
  process.exit(1);
});
setInterval(() => undefined, 1 << 30);
