import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where other programs find a running sidecar. One file per VS Code window
 * (named after its extension-host pid), JSON with the address and the token,
 * mode 0600 in a 0700 folder; removed when the window closes.
 *
 * Folder: $SIDESTREAM_RUNTIME_DIR, else $XDG_RUNTIME_DIR/sidestream (Linux),
 * else ~/.sidestream/run (and %LOCALAPPDATA%\Sidestream\run on Windows).
 * Integrated terminals get SIDESTREAM_DISCOVERY_FILE pointing at this window's file.
 */
export function discoveryDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIDESTREAM_RUNTIME_DIR) return env.SIDESTREAM_RUNTIME_DIR;
  if (process.platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'Sidestream', 'run');
  if (process.platform === 'linux' && env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'sidestream');
  return join(homedir(), '.sidestream', 'run');
}

export function discoveryFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(discoveryDirectory(env), `sidecar-${process.pid}.json`);
}

export interface DiscoveryRecord {
  /** Format version of this file. */
  format: 1;
  address: string;
  token: string;
  /** The sidecar's pid: a client can skip files whose process is gone. */
  pid: number;
  version: string;
  /** The VS Code extension host that owns the sidecar. */
  ownerPid: number;
  workspaceFolders: string[];
  updatedAt: string;
}

/** Writes atomically: a reader never sees a half-written file or a looser mode. */
export async function writeDiscoveryFile(path: string, record: DiscoveryRecord): Promise<void> {
  const dir = join(path, '..');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

export async function removeDiscoveryFile(path: string): Promise<void> {
  await rm(path, { force: true });
}
