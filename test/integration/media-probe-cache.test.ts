// The sidecar probes a local file once while it is unchanged: Probe, Open and every
// reopen share ffprobe's answer; a changed file is probed again; a failure is not kept.
// ffprobe here is a wrapper around the real one that records each run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fixtureDir, makeClip } from './helpers/media';
import { newToken, type RunningSidecar, startSidecar } from './helpers/sidecar';
import { FrameFormat, StreamsTestClient } from './helpers/streams';

const work = mkdtempSync(join(tmpdir(), 'probe-cache-'));
const runsLog = join(work, 'ffprobe-runs.log');
const wrapper = join(work, 'ffprobe');
let sidecar: RunningSidecar;
let client: StreamsTestClient;

const clip = (size: string) => makeClip(`probe-cache-${size}.mp4`, { codec: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'], format: 'mp4', size, seconds: 1 });
/** How many times ffprobe was run on `path`. */
const runsOn = (path: string) => readFileSync(runsLog, 'utf8').split('\n').filter((line) => line === path).length;

before(async () => {
  const realFfprobe = execFileSync('which', ['ffprobe'], { encoding: 'utf8' }).trim();
  writeFileSync(runsLog, '');
  // The last argument is the input (see probe.ts); -version runs from the tool check end in -version.
  writeFileSync(wrapper, `#!/bin/sh\nfor last; do :; done\nprintf '%s\\n' "$last" >> '${runsLog}'\nexec '${realFfprobe}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  const token = newToken();
  sidecar = await startSidecar({ token, env: { SIDESTREAM_FFPROBE: wrapper } });
  client = new StreamsTestClient(sidecar.address, token);
});

after(() => {
  client?.shutdown();
  sidecar?.kill();
  rmSync(work, { recursive: true, force: true });
});

test('Probe, then Open and reopen of the same unchanged file: ffprobe runs once', async () => {
  const path = join(work, 'clip.mp4');
  copyFileSync(clip('320x240'), path);
  const first = await client.probe(`file://${path}`);
  assert.equal(first.streams[0]?.width, 320);
  assert.equal(runsOn(path), 1);
  assert.deepEqual(await client.probe(`file://${path}`), first);
  for (const id of ['open-1', 'open-2']) {
    const info = await client.open({ uri: `file://${path}`, id });
    assert.equal(info.source?.streams[0]?.width, 320);
    const { frames, error } = await client.collect({ streamId: id, format: FrameFormat.FRAME_FORMAT_GRAY }, 1).done;
    assert.equal(error, undefined);
    assert.equal(frames[0]?.data.length, 320 * 240);
    await client.close(id);
  }
  assert.equal(runsOn(path), 1, 'the answer was shared');
});

test('a file replaced by another clip is probed again and reported as it is now', async () => {
  const path = join(work, 'replaced.mp4');
  copyFileSync(clip('320x240'), path);
  assert.equal((await client.probe(path)).streams[0]?.width, 320);
  const next = join(work, 'replaced.next');
  copyFileSync(clip('160x120'), next);
  renameSync(next, path);
  assert.equal((await client.probe(path)).streams[0]?.width, 160);
  assert.equal(runsOn(path), 2);
  // Rewritten in place, to the same size: the modification time tells.
  writeFileSync(path, readFileSync(clip('320x240')));
  assert.equal((await client.probe(path)).streams[0]?.width, 320);
  assert.equal(runsOn(path), 3);
});

test('a file that is not media is not remembered as an answer', async () => {
  const path = join(fixtureDir(), 'probe-cache-noise.mp4');
  writeFileSync(path, Buffer.alloc(4096, 0x5a));
  for (let i = 0; i < 2; i++) await assert.rejects(client.probe(path), /is not media ffmpeg can read/);
  assert.equal(runsOn(path), 2);
});
