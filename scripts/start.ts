// `npm start`: the product in real VS Code. Builds and packages the extension,
// installs code-server 4.100.3 once (offline, into ~/.cache/sidestream), installs
// the .vsix into a profile kept in .sidestream/, opens the demo workspace and prints
// the URL. Loopback only, no password; Ctrl-C stops everything.
//   --port N   listen on 127.0.0.1:N (default 8080, or a free port when 8080 is taken)
//   --fresh    start from a new profile (forget settings and window state)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { codeServerProfile, ensureCodeServer, installExtension, startCodeServer, workbenchUrl } from './lib/codeServer';
import { startDemoStore, writeDemoStoreFiles } from './lib/demoStore';
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

/** The demo workspace: what to try first, in the folder VS Code opens, with a demo clip made by ffmpeg and the demo model store. */
function writeDemoWorkspace(folder: string, storeAddress: string): void {
  mkdirSync(join(folder, '.vscode'), { recursive: true });
  mkdirSync(join(folder, 'media'), { recursive: true });
  const clip = join(folder, 'media', 'demo-720p-h264.mp4');
  if (!existsSync(clip)) {
    // Ten seconds of a moving pattern with a tone, H264 + AAC: something real to open as a file.
    const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=10', '-f', 'lavfi', '-i', 'sine=f=440:duration=10', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-y', clip], { stdio: 'inherit' });
    if (made.status !== 0) console.warn('could not make the demo clip (is ffmpeg installed?); the test pattern still works');
  }
  const readme = `# Sidestream demo workspace

This folder is opened by \`npm start\`. Things to try:

- Command palette (F1) → **Sidestream: Open Stream…** → **Test Pattern**: a live 720p30 pattern with a tone
  opens in the **Sidestream Streams** panel, with its frame rate, capture-to-paint latency and audio level.
  Open a few more for a 2×2 grid; **Record** on a tile writes an MP4 into \`recordings/\` (the link opens it).
- **Sidestream: Open Stream…** → **File…** → \`media/demo-720p-h264.mp4\`: a real H264 + AAC file, played in a loop.
- The **Sidestream** view in the activity bar lists the open streams, with inline record and close.
- Command palette → **Sidestream: Show Sidecar Info**: the sidecar's version, pid, address and ffmpeg;
  the status bar (bottom left) shows **Sidestream: ready**. **Sidestream: Restart Sidecar** restarts it
  (open streams come back on their own).
- **Model Files** in the Explorer (bottom of the side bar): the demo model store \`demo\` (${storeAddress}, served by
  \`node dist/sidecar.js serve-store\` from \`.sidestream/demo-store/\` while \`npm start\` runs). Expand it, right-click
  \`yolo/tiny-detector.onnx\` → **Fetch**: a progress notification, then the file is **cached** (sha256-verified).
  Right-click again for **Copy Local Path** or **Evict from Cache**; **Sidestream: Show Cache Usage** and
  **Sidestream: Clean Cache** manage the cache. Add your own stores in the setting \`sidestream.modelStores\`.
- The **Sidestream** output channel has the sidecar's log.
- A terminal opened here has \`SIDESTREAM_DISCOVERY_FILE\` set: your own Python, Rust or Go program finds the
  same sidecar through it (see the repository README, "Talking to the sidecar from another language").
`;
  writeFileSync(join(folder, 'README.md'), readme);
  const settingsFile = join(folder, '.vscode', 'settings.json');
  let settings: Record<string, unknown> = { 'sidestream.sidecar.logLevel': 'debug' };
  if (existsSync(settingsFile)) {
    try {
      settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    } catch {
      console.warn(`${settingsFile} is not plain JSON; not adding the demo model store to it`);
      return;
    }
  }
  // The demo store's address can change between runs: replace the entry named "demo", keep any others.
  const stores = Array.isArray(settings['sidestream.modelStores']) ? (settings['sidestream.modelStores'] as Array<{ name?: unknown }>) : [];
  settings['sidestream.modelStores'] = [{ name: 'demo', address: storeAddress }, ...stores.filter((store) => store?.name !== 'demo')];
  writeFileSync(settingsFile, `${JSON.stringify(settings, null, 2)}\n`);
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
  // The demo model store: a few sample files served by the reference store server, on 50061 when free.
  const storeDir = join(stateDir, 'demo-store');
  writeDemoStoreFiles(storeDir);
  const storePort = (await portIsFree(50061)) ? 50061 : 0;
  const store = await startDemoStore(join(root, 'dist', 'sidecar.js'), storeDir, { listen: `127.0.0.1:${storePort}` });
  process.once('exit', () => store.process.kill()); // whichever way this script ends
  console.log(`demo model store: ${storeDir} served on ${store.address}`);
  const workspace = join(stateDir, 'demo-workspace');
  writeDemoWorkspace(workspace, store.address);

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
    console.log('\nstopping code-server and the demo model store');
    await Promise.all([codeServer.stop(), store.stop()]);
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
