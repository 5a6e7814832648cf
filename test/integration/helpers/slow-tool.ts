// A stand-in ffmpeg that never answers `-version`: while the sidecar waits for it,
// the sidecar has a live child process, which shutdown must not leave behind.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SlowTool {
  path: string;
  remove(): Promise<void>;
}

export async function createSlowTool(): Promise<SlowTool> {
  const dir = await mkdtemp(join(tmpdir(), 'sidestream-slow-tool-'));
  const path = join(dir, 'ffmpeg');
  // exec: the child the sidecar started *is* the sleep, with no shell in between.
  await writeFile(path, '#!/bin/sh\nexec sleep 30\n');
  await chmod(path, 0o755);
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
