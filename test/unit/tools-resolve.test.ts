// sidecar/tools.ts resolveTool / resolveTools with real executables: small shell
// scripts that answer `-version` like ffmpeg does, in temporary folders.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveTool, resolveTools } from '../../sidecar/tools';

let root: string;

/** Writes an executable `name` into `dir` that reports `version` for `-version`. */
async function fakeTool(dir: string, name: 'ffmpeg' | 'ffprobe', version: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(
    path,
    `#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = "-version" ]; then
    echo "${name} version ${version} Copyright (c) the test"
    echo "configuration: --fake"
    exit 0
  fi
done
echo "unexpected arguments: $*" >&2
exit 1
`,
  );
  await chmod(path, 0o755);
  return path;
}

/** An executable that exits 1 without printing a version line. */
async function brokenTool(dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, '#!/bin/sh\necho "error while loading shared libraries: libavdevice.so.59" >&2\nexit 127\n');
  await chmod(path, 0o755);
  return path;
}

const folder = (name: string) => join(root, name);

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sidestream-tools-'));
  // Every script is written before any is run (no "text file busy" from a concurrent fork).
  await fakeTool(folder('setting'), 'ffmpeg', '9.9-setting');
  await fakeTool(folder('setting'), 'ffprobe', '9.9-setting-probe');
  await fakeTool(folder('env'), 'ffmpeg', '9.9-env');
  await fakeTool(folder('env'), 'ffprobe', '9.9-env-probe');
  await fakeTool(folder('path'), 'ffmpeg', '9.9-path');
  await fakeTool(folder('path'), 'ffprobe', '9.9-path-probe');
  await fakeTool(folder('lonely'), 'ffmpeg', '9.9-lonely'); // no ffprobe beside it
  await fakeTool(folder('badprobe'), 'ffmpeg', '9.9-badprobe');
  await brokenTool(folder('badprobe'), 'ffprobe');
  await brokenTool(folder('broken'), 'ffmpeg');
  await mkdir(folder('empty'));
  await mkdir(folder('plain'));
  await writeFile(join(folder('plain'), 'ffmpeg'), '#!/bin/sh\necho "ffmpeg version 1"\n', { mode: 0o644 });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('resolveTool order for ffmpeg: setting → env → PATH', () => {
  test('the setting wins over the environment variable and PATH', async () => {
    const tool = await resolveTool(
      'ffmpeg',
      { ffmpegPath: join(folder('setting'), 'ffmpeg') },
      { SIDESTREAM_FFMPEG: join(folder('env'), 'ffmpeg'), PATH: folder('path') },
    );
    assert.deepEqual(tool, {
      name: 'ffmpeg',
      path: join(folder('setting'), 'ffmpeg'),
      source: 'setting',
      version: '9.9-setting',
      error: '',
    });
  });

  test('SIDESTREAM_FFMPEG wins over PATH', async () => {
    const tool = await resolveTool('ffmpeg', {}, { SIDESTREAM_FFMPEG: join(folder('env'), 'ffmpeg'), PATH: folder('path') });
    assert.equal(tool.source, 'env');
    assert.equal(tool.version, '9.9-env');
    assert.equal(tool.error, '');
  });

  test('PATH is searched in order, skipping folders without the tool', async () => {
    const PATH = [folder('empty'), folder('plain'), folder('path'), folder('env')].join(':');
    const tool = await resolveTool('ffmpeg', {}, { PATH });
    assert.equal(tool.path, join(folder('path'), 'ffmpeg'), 'a non-executable file on PATH is not a match');
    assert.equal(tool.source, 'path');
    assert.equal(tool.version, '9.9-path');
  });

  test('empty setting and environment variable count as unset', async () => {
    const tool = await resolveTool('ffmpeg', { ffmpegPath: '' }, { SIDESTREAM_FFMPEG: '', PATH: folder('path') });
    assert.equal(tool.source, 'path');
  });
});

describe('resolveTool order for ffprobe: setting → env → beside ffmpeg → PATH', () => {
  test('ffprobe beside the resolved ffmpeg wins over PATH', async () => {
    const { ffmpeg, ffprobe } = await resolveTools({ ffmpegPath: join(folder('setting'), 'ffmpeg') }, { PATH: folder('path') });
    assert.equal(ffmpeg.source, 'setting');
    assert.deepEqual(ffprobe, {
      name: 'ffprobe',
      path: join(folder('setting'), 'ffprobe'),
      source: 'beside-ffmpeg',
      version: '9.9-setting-probe',
      error: '',
    });
  });

  test('SIDESTREAM_FFPROBE wins over the ffprobe beside ffmpeg', async () => {
    const { ffprobe } = await resolveTools(
      { ffmpegPath: join(folder('setting'), 'ffmpeg') },
      { SIDESTREAM_FFPROBE: join(folder('env'), 'ffprobe'), PATH: folder('path') },
    );
    assert.equal(ffprobe.source, 'env');
    assert.equal(ffprobe.version, '9.9-env-probe');
  });

  test('the ffprobe setting wins over everything', async () => {
    const { ffprobe } = await resolveTools(
      { ffmpegPath: join(folder('env'), 'ffmpeg'), ffprobePath: join(folder('setting'), 'ffprobe') },
      { SIDESTREAM_FFPROBE: join(folder('env'), 'ffprobe'), PATH: folder('path') },
    );
    assert.equal(ffprobe.source, 'setting');
    assert.equal(ffprobe.version, '9.9-setting-probe');
  });

  test('no ffprobe beside ffmpeg: PATH', async () => {
    const { ffprobe } = await resolveTools({ ffmpegPath: join(folder('lonely'), 'ffmpeg') }, { PATH: folder('path') });
    assert.equal(ffprobe.source, 'path');
    assert.equal(ffprobe.version, '9.9-path-probe');
  });

  test('a broken ffprobe beside ffmpeg was not chosen by anyone: skipped for PATH', async () => {
    const { ffprobe } = await resolveTools({ ffmpegPath: join(folder('badprobe'), 'ffmpeg') }, { PATH: folder('path') });
    assert.equal(ffprobe.source, 'path');
    assert.equal(ffprobe.error, '');
  });
});

describe('an explicit choice that is broken is reported, never skipped', () => {
  test('a setting that points nowhere names the setting and the path, and PATH is not tried', async () => {
    const missing = join(folder('empty'), 'ffmpeg');
    const tool = await resolveTool('ffmpeg', { ffmpegPath: missing }, { PATH: folder('path') });
    assert.equal(tool.source, 'setting');
    assert.equal(tool.path, missing);
    assert.equal(tool.version, '');
    assert.match(tool.error, /sidestream\.ffmpegPath/);
    assert.ok(tool.error.includes(missing), tool.error);
    assert.match(tool.error, /not an executable file/);
  });

  test('a setting that points to a non-executable file is reported', async () => {
    const tool = await resolveTool('ffmpeg', { ffmpegPath: join(folder('plain'), 'ffmpeg') }, { PATH: folder('path') });
    assert.equal(tool.source, 'setting');
    assert.match(tool.error, /sidestream\.ffmpegPath.*not an executable file/);
  });

  test('a setting whose program fails `-version` is reported with what it printed', async () => {
    const path = join(folder('broken'), 'ffmpeg');
    const tool = await resolveTool('ffmpeg', { ffmpegPath: path }, { PATH: folder('path') });
    assert.equal(tool.source, 'setting');
    assert.equal(tool.version, '');
    assert.ok(tool.error.includes(`${path} -version`), tool.error);
    assert.match(tool.error, /exited 127/);
    assert.match(tool.error, /libavdevice/);
  });

  test('a broken SIDESTREAM_FFMPEG names the variable', async () => {
    const tool = await resolveTool('ffmpeg', {}, { SIDESTREAM_FFMPEG: '/nonexistent/ffmpeg', PATH: folder('path') });
    assert.equal(tool.source, 'env');
    assert.match(tool.error, /SIDESTREAM_FFMPEG points to \/nonexistent\/ffmpeg/);
  });

  test('a broken ffprobe setting names sidestream.ffprobePath', async () => {
    const { ffprobe } = await resolveTools({ ffprobePath: '/nonexistent/ffprobe' }, { PATH: folder('path') });
    assert.equal(ffprobe.source, 'setting');
    assert.match(ffprobe.error, /sidestream\.ffprobePath/);
  });

  test('a relative path is refused, even when it would be found on PATH', async () => {
    const tool = await resolveTool('ffmpeg', { ffmpegPath: 'ffmpeg' }, { PATH: folder('path') });
    assert.equal(tool.source, 'setting');
    assert.match(tool.error, /must be an absolute path; got "ffmpeg"/);
    const fromEnv = await resolveTool('ffmpeg', {}, { SIDESTREAM_FFMPEG: './bin/ffmpeg', PATH: folder('path') });
    assert.match(fromEnv.error, /SIDESTREAM_FFMPEG must be an absolute path/);
  });
});

describe('not found', () => {
  test('the error says how to install it or where to point the setting', async () => {
    const tool = await resolveTool('ffmpeg', {}, { PATH: [folder('empty'), folder('plain')].join(':') });
    assert.equal(tool.path, '');
    assert.equal(tool.source, '');
    assert.equal(tool.version, '');
    assert.match(tool.error, /^ffmpeg was not found/);
    if (process.platform === 'linux') assert.match(tool.error, /apt-get install ffmpeg/);
    assert.match(tool.error, /sidestream\.ffmpegPath/);
    assert.match(tool.error, /SIDESTREAM_FFMPEG/);
  });

  test('no PATH at all', async () => {
    const { ffmpeg, ffprobe } = await resolveTools({}, {});
    assert.match(ffmpeg.error, /^ffmpeg was not found/);
    assert.match(ffprobe.error, /^ffprobe was not found.*SIDESTREAM_FFPROBE/);
  });
});

describe('the real ffmpeg installed on this machine', () => {
  test('Debian ffmpeg and ffprobe in /usr/bin resolve with their versions', async () => {
    const { ffmpeg, ffprobe } = await resolveTools({}, { PATH: process.env.PATH });
    assert.equal(ffmpeg.error, '', 'ffmpeg should be installed (Debian: apt-get install ffmpeg)');
    assert.equal(ffmpeg.path, '/usr/bin/ffmpeg');
    assert.equal(ffmpeg.source, 'path');
    assert.match(ffmpeg.version, /^\d+\.\d+/);
    assert.equal(ffprobe.error, '');
    assert.equal(ffprobe.path, '/usr/bin/ffprobe');
    assert.equal(ffprobe.source, 'beside-ffmpeg');
    assert.equal(ffprobe.version, ffmpeg.version);
  });
});
