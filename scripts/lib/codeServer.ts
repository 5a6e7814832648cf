// code-server: real VS Code in a browser, for `npm start` and the end-to-end tests.
// 4.100.3 (VS Code 1.100.3) is the newest release that runs on Node 20. It is
// installed once from the npm registry into a cache folder, offline:
// @vscode/ripgrep's download is served from a cache seeded with Debian's `rg`.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, copyFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureDebianPackages } from './debian';

export const codeServerVersion = '4.100.3';
const ripgrepCacheName = 'vscode-ripgrep-cache-1.15.11';
const ripgrepArchive = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

/** Sidestream's own cache folder for tools it installs: $SIDESTREAM_CACHE_DIR, else $XDG_CACHE_HOME/sidestream, else ~/.cache/sidestream. */
export function toolCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIDESTREAM_CACHE_DIR) return env.SIDESTREAM_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sidestream');
}

export function codeServerDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(toolCacheDir(env), `code-server-${codeServerVersion}`);
}

function codeServerBin(dir: string): string {
  return join(dir, 'node_modules', '.bin', 'code-server');
}

function installedVersion(bin: string): string | undefined {
  if (!existsSync(bin)) return undefined;
  // code-server writes a default config file on every start; keep that out of the user's home.
  const scratch = mkdtempSync(join(tmpdir(), 'sidestream-code-server-version-'));
  try {
    const run = spawnSync(bin, ['--version'], { encoding: 'utf8', env: { ...process.env, XDG_CONFIG_HOME: scratch, XDG_DATA_HOME: scratch } });
    return run.status === 0 ? /^(\d+\.\d+\.\d+) /m.exec(run.stdout)?.[1] : undefined;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A TMPDIR whose @vscode/ripgrep download cache already holds Debian's rg, so its postinstall needs no network. */
function seededTmpdir(root: string): string {
  const tmp = join(root, 'tmp');
  const cache = join(tmp, ripgrepCacheName);
  mkdirSync(cache, { recursive: true });
  const staging = join(tmp, 'rg-staging');
  mkdirSync(staging, { recursive: true });
  copyFileSync('/usr/bin/rg', join(staging, 'rg'));
  const tar = spawnSync('tar', ['-czf', join(cache, ripgrepArchive), '-C', staging, 'rg'], { stdio: 'inherit' });
  if (tar.status !== 0) throw new Error('cannot pack /usr/bin/rg for the ripgrep download cache');
  return tmp;
}

/** Returns the path of the code-server binary, installing it first when needed. */
export function ensureCodeServer(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIDESTREAM_CODE_SERVER) return env.SIDESTREAM_CODE_SERVER;
  const dir = codeServerDir(env);
  const bin = codeServerBin(dir);
  if (installedVersion(bin) === codeServerVersion) return bin;

  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the code-server install script supports linux-x64 only; install code-server ${codeServerVersion} yourself and set SIDESTREAM_CODE_SERVER to its binary`);
  }
  ensureDebianPackages(['ripgrep', 'libkrb5-dev', 'python3', 'make', 'g++'], `code-server ${codeServerVersion}'s offline install`);
  const parent = toolCacheDir(env);
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, `.code-server-${codeServerVersion}-`));
  console.log(`installing code-server ${codeServerVersion} into ${dir} (once; about a minute)`);
  try {
    writeFileSync(join(staging, 'package.json'), `${JSON.stringify({ name: 'sidestream-code-server', private: true }, null, 2)}\n`);
    const args = ['install', `code-server@${codeServerVersion}`, '--no-audit', '--no-fund', '--no-save', '--unsafe-perm'];
    const install = spawnSync('npm', args, {
      cwd: staging,
      stdio: ['ignore', 'inherit', 'inherit'],
      // npm_config_yes: node-pty's postinstall runs npx; TMPDIR: the seeded ripgrep cache.
      env: { ...env, npm_config_yes: 'true', TMPDIR: seededTmpdir(staging) },
    });
    if (install.status !== 0) throw new Error(`npm install code-server@${codeServerVersion} failed (exit ${install.status})`);
    rmSync(join(staging, 'tmp'), { recursive: true, force: true });
    if (installedVersion(codeServerBin(staging)) !== codeServerVersion) {
      throw new Error(`code-server ${codeServerVersion} installed but does not run; see the output above`);
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return bin;
}

/** Where code-server keeps its own state: fresh folders so that no earlier run leaks in. */
export interface CodeServerProfile {
  root: string;
  userDataDir: string;
  extensionsDir: string;
  xdg: string;
}

export function codeServerProfile(root: string): CodeServerProfile {
  const profile: CodeServerProfile = {
    root,
    userDataDir: join(root, 'user-data'),
    extensionsDir: join(root, 'extensions'),
    xdg: join(root, 'xdg'),
  };
  for (const dir of [profile.userDataDir, profile.extensionsDir, profile.xdg]) mkdirSync(dir, { recursive: true });
  return profile;
}

function profileEnv(profile: CodeServerProfile, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...env,
    XDG_CONFIG_HOME: join(profile.xdg, 'config'),
    XDG_DATA_HOME: join(profile.xdg, 'data'),
    XDG_CACHE_HOME: join(profile.xdg, 'cache'),
    XDG_STATE_HOME: join(profile.xdg, 'state'),
  };
}

export function installExtension(bin: string, profile: CodeServerProfile, vsix: string): void {
  const run = spawnSync(
    bin,
    ['--user-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir, '--force', '--install-extension', vsix],
    { encoding: 'utf8', env: profileEnv(profile, process.env) },
  );
  if (run.status !== 0) throw new Error(`code-server --install-extension ${vsix} failed:\n${run.stdout}\n${run.stderr}`);
}

/**
 * Starts code-server on loopback without a password. Resolves with its base URL
 * once it listens; `stop()` ends it and everything it started (extension hosts,
 * their sidecars) by signalling its process group.
 */
export interface StartOptions {
  host?: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** Every line code-server prints. */
  onLine?: (line: string) => void;
}

export interface RunningCodeServer {
  /** The base URL, e.g. http://127.0.0.1:41931 */
  url: string;
  child: ChildProcess;
  /** The last 200 lines it printed. */
  lines: string[];
  stop(): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startCodeServer(bin: string, profile: CodeServerProfile, options: StartOptions = {}): Promise<RunningCodeServer> {
  const { host = '127.0.0.1', port = 0, env = process.env, onLine } = options;
  const args = [
    '--bind-addr', `${host}:${port}`,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    '--user-data-dir', profile.userDataDir,
    '--extensions-dir', profile.extensionsDir,
  ];
  const child = spawn(bin, args, { env: profileEnv(profile, env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  let stopped = false;
  const pgid = child.pid!;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pgid, signal);
    } catch {
      // The group is gone already.
    }
  };
  const killOnExit = () => signalGroup('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    signalGroup('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    // Whatever code-server left in its group (extension hosts, their children) goes too.
    signalGroup('SIGKILL');
    process.off('exit', killOnExit);
  };

  return new Promise<RunningCodeServer>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`code-server did not start listening within 30 s:\n${lines.join('\n')}`));
    }, 30_000);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        onLine?.(line);
        const match = /HTTP server listening on (http:\/\/\S+?)\/?$/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve({ url: match[1]!, child, lines, stop, exited });
        }
      });
    }
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (code ${code}, signal ${signal}) before listening:\n${lines.join('\n')}`));
    });
  });
}

/**
 * The workbench URL for `folder`. `payload` entries such as extensionDevelopmentPath
 * and extensionTestsPath are what desktop VS Code takes as flags; code-server takes
 * them here, as vscode-remote URIs of the server's own file system.
 */
export function workbenchUrl(baseUrl: string, options: { folder?: string; payload?: Record<string, string> } = {}): string {
  const { folder, payload = {} } = options;
  const url = new URL(baseUrl);
  if (folder) url.searchParams.set('folder', folder);
  const entries = Object.entries(payload).map(([key, path]) => [key, `vscode-remote://${url.host}${path}`]);
  if (entries.length > 0) url.searchParams.set('payload', JSON.stringify(entries));
  return url.toString();
}
