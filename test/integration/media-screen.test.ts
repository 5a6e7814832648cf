// Screen capture of a real X display (Xvfb) showing a window of a known colour (drawn
// by ffmpeg's SDL output), through the sidecar.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Device_Kind } from '../../proto/gen/sidestream/v1/streams';
import { rgbAt } from './helpers/media';
import { waitUntil } from './helpers/procfs';
import { newToken, type RunningSidecar, startSidecar } from './helpers/sidecar';
import { FrameFormat, StreamsTestClient } from './helpers/streams';

let sidecar: RunningSidecar;
let client: StreamsTestClient;
let xvfb: ChildProcess;
let painter: ChildProcess;
let display: string;
const colour: [number, number, number] = [0x33, 0x66, 0xcc];

/** One pixel of the display straight from ffmpeg, to know when the window is up. */
function pixelNow(): number[] {
  const run = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'x11grab', '-video_size', '2x2', '-i', `${display}+200,200`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  return [...run.stdout.subarray(0, 3)];
}

const near = (actual: number[], expected: number[]) => actual.every((value, i) => Math.abs(value - expected[i]!) <= 3);

before(async () => {
  let number = 90;
  while (existsSync(`/tmp/.X11-unix/X${number}`) || existsSync(`/tmp/.X${number}-lock`)) number++;
  display = `:${number}`;
  xvfb = spawn('Xvfb', [display, '-screen', '0', '640x480x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  await waitUntil(() => existsSync(`/tmp/.X11-unix/X${number}`), 10_000, () => 'Xvfb did not start');
  painter = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'color=c=0x3366cc:size=640x480:rate=10', '-pix_fmt', 'yuv420p', '-f', 'sdl', 'Sidestream test colour'],
    { stdio: 'ignore', env: { ...process.env, DISPLAY: display } },
  );
  await waitUntil(() => near(pixelNow(), colour), 15_000, () => `the colour window did not appear on ${display}: ${pixelNow()}`, 200);
  const token = newToken();
  sidecar = await startSidecar({ token });
  client = new StreamsTestClient(sidecar.address, token);
});

after(() => {
  client?.shutdown();
  sidecar?.kill();
  painter?.kill('SIGKILL');
  xvfb?.kill('SIGKILL');
});

test('ListDevices finds the X display with its size', async () => {
  const { devices } = await client.listDevices();
  const screen = devices.find((d) => d.kind === Device_Kind.KIND_SCREEN && d.id === display);
  assert.ok(screen, `no ${display} in ${JSON.stringify(devices)}`);
  assert.equal(screen.uri, `screen:${display}`);
  assert.deepEqual(screen.formats, ['640x480']);
});

test('a region of the screen arrives in the colour it was painted, stamped with the capture clock', async () => {
  await client.open({ uri: `screen:${display}?region=100,100,320,240&rate=15&cursor=0`, id: 'screen' });
  const { frames, error } = await client.collect({ streamId: 'screen', format: FrameFormat.FRAME_FORMAT_RGB24 }, 10).done;
  assert.equal(error, undefined);
  await client.close('screen');
  assert.equal(frames.length, 10);
  for (const frame of frames) {
    assert.deepEqual([frame.width, frame.height], [320, 240]);
    const pixel = rgbAt(frame.data, 320, 160, 120);
    assert.ok(near(pixel, colour), `the centre pixel is ${pixel}, painted ${colour}`);
    assert.ok(frame.capturedAtUs > 0 && frame.decodedAtUs >= frame.capturedAtUs, 'x11grab timestamps are the capture wall clock');
    assert.ok(frame.decodedAtUs - frame.capturedAtUs < 5_000_000);
  }
});
