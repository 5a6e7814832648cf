import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { captureOutput } from './processes';

export type ToolName = 'ffmpeg' | 'ffprobe';
export type ToolSource = 'setting' | 'env' | 'ffmpeg-static' | 'beside-ffmpeg' | 'path';

export interface ResolvedTool {
  name: ToolName;
  /** Absolute path to run; empty when not found. */
  path: string;
  source: ToolSource | '';
  version: string;
  /** What is wrong, in words that say what to fix; empty when the tool is usable. */
  error: string;
}

export interface ToolSettings {
  ffmpegPath?: string | undefined;
  ffprobePath?: string | undefined;
}

interface Candidate {
  path: string;
  source: ToolSource;
  /** Where the path came from, for error messages. */
  origin: string;
  /** An explicit choice is reported when broken rather than skipped. */
  explicit: boolean;
}

const exe = (name: string) => (process.platform === 'win32' ? `${name}.exe` : name);

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, exe(name));
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function ffmpegStaticPath(): string | undefined {
  try {
    // Optional dependency: absent on offline mirrors and in the .vsix; resolved at run time, never bundled.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const path = require('ffmpeg-static') as string | null;
    return typeof path === 'string' ? path : undefined;
  } catch {
    return undefined;
  }
}

function candidates(name: ToolName, settings: ToolSettings, env: NodeJS.ProcessEnv, ffmpeg?: ResolvedTool): Candidate[] {
  const setting = name === 'ffmpeg' ? settings.ffmpegPath : settings.ffprobePath;
  const envName = name === 'ffmpeg' ? 'SIDESTREAM_FFMPEG' : 'SIDESTREAM_FFPROBE';
  const list: Candidate[] = [];
  if (setting) {
    list.push({ path: setting, source: 'setting', origin: `sidestream.${name}Path (--${name})`, explicit: true });
  }
  if (env[envName]) list.push({ path: env[envName]!, source: 'env', origin: envName, explicit: true });
  if (name === 'ffmpeg') {
    const bundled = ffmpegStaticPath();
    if (bundled) list.push({ path: bundled, source: 'ffmpeg-static', origin: 'the ffmpeg-static package', explicit: false });
  } else if (ffmpeg?.path) {
    list.push({
      path: join(dirname(ffmpeg.path), exe('ffprobe')),
      source: 'beside-ffmpeg',
      origin: `the folder of ${ffmpeg.path}`,
      explicit: false,
    });
  }
  return list;
}

export async function readToolVersion(name: ToolName, path: string): Promise<string> {
  const run = await captureOutput(path, ['-hide_banner', '-version']);
  const match = new RegExp(`^${name} version (\\S+)`, 'm').exec(run.stdout);
  if (run.code !== 0 || !match) {
    throw new Error(`"${path} -version" exited ${run.code} without a version line: ${run.stderr.trim().slice(0, 200)}`);
  }
  return match[1]!;
}

async function probe(name: ToolName, candidate: Candidate): Promise<ResolvedTool | undefined> {
  if (!isAbsolute(candidate.path)) {
    return broken(name, candidate, `${candidate.origin} must be an absolute path; got "${candidate.path}".`);
  }
  if (!(await isExecutableFile(candidate.path))) {
    return candidate.explicit
      ? broken(name, candidate, `${candidate.origin} points to ${candidate.path}, which is not an executable file.`)
      : undefined;
  }
  try {
    const version = await readToolVersion(name, candidate.path);
    return { name, path: candidate.path, source: candidate.source, version, error: '' };
  } catch (error) {
    return candidate.explicit ? broken(name, candidate, (error as Error).message) : undefined;
  }
}

function broken(name: ToolName, candidate: Candidate, error: string): ResolvedTool {
  return { name, path: candidate.path, source: candidate.source, version: '', error };
}

/**
 * Resolves one tool in the documented order: setting → environment variable →
 * ffmpeg-static (ffmpeg) or the resolved ffmpeg's folder (ffprobe) → PATH.
 * A path the user chose explicitly is reported when broken, never silently skipped.
 */
export async function resolveTool(
  name: ToolName,
  settings: ToolSettings,
  env: NodeJS.ProcessEnv,
  ffmpeg?: ResolvedTool,
): Promise<ResolvedTool> {
  for (const candidate of candidates(name, settings, env, ffmpeg)) {
    const resolved = await probe(name, candidate);
    if (resolved) return resolved;
  }
  const onPath = await findOnPath(name, env);
  if (onPath) {
    const resolved = await probe(name, { path: onPath, source: 'path', origin: 'PATH', explicit: true });
    if (resolved) return resolved;
  }
  const hint =
    process.platform === 'linux'
      ? 'install it (Debian/Ubuntu: sudo apt-get install ffmpeg)'
      : process.platform === 'darwin'
        ? 'install it (brew install ffmpeg)'
        : 'install it from ffmpeg.org';
  return {
    name,
    path: '',
    source: '',
    version: '',
    error: `${name} was not found: ${hint}, or set sidestream.${name}Path or SIDESTREAM_${name.toUpperCase()} to its absolute path.`,
  };
}

export async function resolveTools(settings: ToolSettings, env: NodeJS.ProcessEnv): Promise<{ ffmpeg: ResolvedTool; ffprobe: ResolvedTool }> {
  const ffmpeg = await resolveTool('ffmpeg', settings, env);
  const ffprobe = await resolveTool('ffprobe', settings, env, ffmpeg);
  return { ffmpeg, ffprobe };
}

/** The hardware acceleration methods an ffmpeg was built with (`ffmpeg -hwaccels`). */
export async function readHwaccels(ffmpegPath: string): Promise<string[]> {
  const run = await captureOutput(ffmpegPath, ['-hide_banner', '-hwaccels']);
  if (run.code !== 0) return [];
  return run.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.endsWith(':'));
}
