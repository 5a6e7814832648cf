// `npm start`: the product in real VS Code. Builds and packages the extension,
// installs code-server 4.100.3 once (offline, into ~/.cache/sidestream), installs
// the .vsix into a profile kept in .sidestream/, opens the demo workspace and prints
// the URL. Loopback only, no password; Ctrl-C stops everything.
//   --port N   listen on 127.0.0.1:N (default 8080, or a free port when 8080 is taken)
//   --fresh    start from a new profile (forget settings and window state)
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { codeServerProfile, ensureCodeServer, installExtension, startCodeServer, workbenchUrl } from './lib/codeServer';
import { ensureDebianPackages } from './lib/debian';

const root = join(__dirname, '..');
const stateDir = join(root, '.sidestream');
const vsix = join(root, 'out', 'sidestream.vsix');

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The demo workspace: what to try first, in the folder VS Code opens. */
function writeDemoWorkspace(folder: string): void {
  mkdirSync(join(folder, '.vscode'), { recursive: true });
  const readme = `# Sidestream demo workspace

This folder is opened by \`npm start\`. Things to try:

- Command palette (F1) → **Sidestream: Show Sidecar Info**: the extension starts its sidecar and shows its
  version, pid, address and the ffmpeg in use; the status bar (bottom left) then shows **Sidestream: ready**.
- Command palette → **Sidestream: Restart Sidecar**.
- The **Sidestream** output channel has the sidecar's log.
- A terminal opened here has \`SIDESTREAM_DISCOVERY_FILE\` set: other programs find the sidecar through it
  (see the repository README, "Talking to the sidecar from another language").
`;
  writeFileSync(join(folder, 'README.md'), readme);
  if (!existsSync(join(folder, '.vscode', 'settings.json'))) {
    writeFileSync(join(folder, '.vscode', 'settings.json'), `${JSON.stringify({ 'sidestream.sidecar.logLevel': 'debug' }, null, 2)}\n`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string' }, fresh: { type: 'boolean', default: false } } });
  ensureDebianPackages(['ffmpeg'], 'the media engine');

  const packaged = spawnSync(process.execPath, [join(root, 'scripts', 'package.mjs')], { cwd: root, stdio: 'inherit' });
  if (packaged.status !== 0) throw new Error('packaging the extension failed; see above');

  const bin = ensureCodeServer();
  const profileDir = join(stateDir, 'code-server');
  if (values.fresh) rmSync(profileDir, { recursive: true, force: true });
  const profile = codeServerProfile(profileDir);
  const settingsFile = join(profile.userDataDir, 'User', 'settings.json');
  if (!existsSync(settingsFile)) {
    mkdirSync(join(profile.userDataDir, 'User'), { recursive: true });
    writeFileSync(settingsFile, `${JSON.stringify({
      'workbench.startupEditor': 'readme',
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'git.openRepositoryInParentFolders': 'never',
      'extensions.autoCheckUpdates': false,
    }, null, 2)}\n`);
  }
  installExtension(bin, profile, vsix);
  const workspace = join(stateDir, 'demo-workspace');
  writeDemoWorkspace(workspace);

  const wanted = values.port !== undefined ? Number(values.port) : 8080;
  if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) throw new Error(`--port expects 0-65535; got ${values.port}`);
  const port = (await portIsFree(wanted)) ? wanted : 0;
  if (port !== wanted) console.log(`port ${wanted} is taken; using a free port`);

  const codeServer = await startCodeServer(bin, profile, {
    port,
    onLine: (line) => {
      if (/\berror\b/i.test(line)) console.error(`code-server: ${line}`);
    },
  });
  const url = workbenchUrl(codeServer.url, { folder: workspace });
  console.log(`\nSidestream is running in VS Code (code-server, loopback only, no password):\n\n  ${url}\n\nOpen it in a browser on this machine. Ctrl-C stops it.`);

  const stop = async () => {
    console.log('\nstopping code-server');
    await codeServer.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  const { code, signal } = await codeServer.exited;
  console.error(`code-server exited (code ${code}, signal ${signal}); its last lines:\n${codeServer.lines.slice(-20).join('\n')}`);
  process.exit(1);
}

main().catch((error: unknown) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
