// Network sources against real servers on loopback: HLS over HTTP, RTSP from
// GStreamer's server killed and restarted (the stream reconnects, the subscriber keeps
// its call), and a UDP source that goes silent (the watchdog restarts it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fixtureDir } from './helpers/media';
import { freePort, serveFolder, startRtspServer, startUdpSender } from './helpers/network';
import { type Frame, FrameFormat, useStreamsSidecar, StreamState, waitForEvent } from './helpers/streams';

/** One sidecar for the file, started before its tests and killed after them. */
const rig = useStreamsSidecar();

async function waitForFrames(frames: Frame[], count: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (frames.length < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${frames.length} of ${count} frames`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const fastReconnect = { enabled: true, initialDelayMs: 300, maxDelayMs: 1000, maxAttempts: 0 };

describe('network sources', () => {
  test('HLS served over HTTP on loopback plays to its end', async () => {
    const folder = join(fixtureDir(), 'hls');
    mkdirSync(folder, { recursive: true });
    const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod', join(folder, 'index.m3u8')]);
    assert.equal(made.status, 0, made.stderr?.toString());
    const http = await serveFolder(folder);
    try {
      const uri = `${http.url}/index.m3u8`;
      const probe = await rig.client.probe(uri);
      assert.equal(probe.container, 'hls');
      assert.equal(probe.streams[0]?.codec, 'h264');
      await rig.client.open({ uri, id: 'hls' });
      const { frames, ended, error } = await rig.client.collect({ streamId: 'hls', format: FrameFormat.FRAME_FORMAT_JPEG, width: 160 }, 1000).done;
      assert.equal(error, undefined);
      assert.equal(ended, true);
      assert.equal(frames.length, 90);
      assert.deepEqual([frames[0]!.width, frames[0]!.height], [160, 120]);
      await rig.client.close('hls');
    } finally {
      await http.close();
    }
  });

  test('RTSP: the server is killed and restarted; the stream reconnects and frames continue on the same call', async () => {
    const port = await freePort();
    let server = await startRtspServer(port);
    try {
      await rig.client.open({ uri: `rtsp://127.0.0.1:${port}/test`, id: 'rtsp', reconnect: fastReconnect });
      const watch = rig.client.watch('rtsp', 1000);
      const collection = rig.client.collect({ streamId: 'rtsp', format: FrameFormat.FRAME_FORMAT_GRAY }, 1_000_000);
      await waitForFrames(collection.frames, 30, 20_000, 'the first RTSP frames');
      assert.deepEqual([collection.frames[0]!.width, collection.frames[0]!.height], [640, 360]);

      await server.kill();
      await waitForEvent(watch.events, (e) => e.stream?.state === StreamState.STREAM_STATE_RECONNECTING, 20_000, 'reconnecting');
      const before = collection.frames.length;
      server = await startRtspServer(port);
      await waitForFrames(collection.frames, before + 30, 30_000, 'frames after the restart');
      const live = await waitForEvent(watch.events, (e) => e.stream?.state === StreamState.STREAM_STATE_LIVE && watch.events.indexOf(e) > watch.events.findIndex((x) => x.stream?.state === StreamState.STREAM_STATE_RECONNECTING), 5000, 'live again');
      assert.ok(live);
      const figures = await waitForEvent(watch.events, (e) => (e.analytics?.reconnects ?? 0) >= 1, 5000, 'the reconnect counted');
      assert.ok(figures.analytics!.reconnects >= 1);
      const reconnecting = watch.events.find((e) => e.stream?.state === StreamState.STREAM_STATE_RECONNECTING)!;
      assert.match(reconnecting.stream!.reason, /retrying in/);
      collection.cancel();
      watch.call.cancel();
      await rig.client.close('rtsp');
    } finally {
      await server.kill();
    }
  });

  test('UDP: a source that goes silent is restarted by the watchdog and recovers', async () => {
    const port = await freePort();
    const sender = startUdpSender(port);
    try {
      await rig.client.open({ uri: `udp://127.0.0.1:${port}`, id: 'udp', watchdogMs: 1500, reconnect: fastReconnect });
      const watch = rig.client.watch('udp', 500);
      const collection = rig.client.collect({ streamId: 'udp', format: FrameFormat.FRAME_FORMAT_GRAY }, 1_000_000);
      await waitForFrames(collection.frames, 20, 20_000, 'the first UDP frames');

      sender.child.kill('SIGSTOP');
      const stalled = await waitForEvent(watch.events, (e) => e.stream?.state === StreamState.STREAM_STATE_STALLED, 10_000, 'stalled');
      assert.match(stalled.stream!.reason, /no frame for \d+ ms/);
      const restarted = await waitForEvent(watch.events, (e) => e.stream?.state === StreamState.STREAM_STATE_RECONNECTING, 10_000, 'the watchdog restart');
      assert.match(restarted.stream!.reason, /no frame for \d+ s \(watchdog\)/);
      const before = collection.frames.length;
      sender.child.kill('SIGCONT');
      await waitForFrames(collection.frames, before + 20, 30_000, 'frames after the sender resumed');
      collection.cancel();
      watch.call.cancel();
      await rig.client.close('udp');
    } finally {
      sender.child.kill('SIGCONT');
      await sender.kill();
    }
  });
});
