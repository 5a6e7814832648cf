// Buffering policies against the real sidecar: `wait` loses no frame of a file read
// slowly; a subscriber that reads nothing under `drop_oldest` keeps the sidecar's
// memory flat and its drops are counted; max_fps; analytics streamed by WatchStream.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { makeClip } from './helpers/media';
import { sleep } from './helpers/sidecar';
import { BufferPolicy, FrameFormat, type StreamInfo, useStreamsSidecar, StreamState, waitForEvent } from './helpers/streams';

/** One sidecar for the file, started before its tests and killed after them. */
const rig = useStreamsSidecar();

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) / 1024;
}

describe('buffering policies', () => {
  test('wait: a slow reader gets every frame of a file, in order, none dropped', async () => {
    const path = makeClip('count-120.mp4', { codec: ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30'], format: 'mp4', pattern: 'testsrc2', size: '320x240', rate: 30, seconds: 4 });
    await rig.client.open({ uri: `file://${path}`, id: 'slow-wait' });
    const watch = rig.client.watch('slow-wait', 200);
    const collection = rig.client.collect({ streamId: 'slow-wait', format: FrameFormat.FRAME_FORMAT_RGB24, policy: BufferPolicy.BUFFER_POLICY_WAIT, queueFrames: 4 }, 1000, () => {
      // Reads a frame every 10 ms or so: far slower than ffmpeg decodes this clip.
      collection.call.pause();
      setTimeout(() => collection.call.resume(), 10);
    });
    const { frames, error, ended } = await collection.done;
    assert.equal(error, undefined);
    assert.equal(ended, true);
    assert.deepEqual(frames.map((f) => f.sequence), Array.from({ length: 120 }, (_, i) => i));
    assert.ok(frames.every((f) => f.droppedBefore === 0));
    frames.forEach((frame, i) => assert.ok(Math.abs(frame.ptsUs - frames[0]!.ptsUs - (i * 1e6) / 30) <= 1, `pts of frame ${i}: ${frame.ptsUs}`));
    const deepest = Math.max(...watch.events.flatMap((e) => e.analytics?.subscribers.map((s) => s.queueDepth) ?? [0]));
    assert.ok(deepest <= 4 + 2, `the queue stayed near its bound of 4 (deepest seen: ${deepest})`);
    watch.call.cancel();
    await rig.client.close('slow-wait');
  });

  test('drop_oldest: a subscriber that reads nothing keeps memory flat and its drops are counted', async () => {
    await rig.client.open({ uri: 'test:video?size=1280x720&rate=30', id: 'stalled-reader' });
    const watch = rig.client.watch('stalled-reader', 250);
    const frameBytes = 1280 * 720 * 3;
    const collection = rig.client.collect(
      { streamId: 'stalled-reader', format: FrameFormat.FRAME_FORMAT_RGB24, policy: BufferPolicy.BUFFER_POLICY_DROP_OLDEST, queueFrames: 4 },
      1_000_000,
    );
    collection.call.pause(); // never reads: HTTP/2 flow control fills, then the queue
    await waitForEvent(watch.events, (e) => (e.analytics?.droppedByPolicy ?? 0) > 20, 20_000, 'drops to begin');
    const dropsAfterFill = watch.events.at(-1)!.analytics!.droppedByPolicy;
    // RSS swings by tens of MB with V8's collections of 2.7 MB frames; a leak of the
    // dropped frames would grow it by ~80 MB/s. So the trend is what is checked: the
    // median of the last samples against the median of the first, over 6 s.
    const rssSamples: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      rssSamples.push(rssMb(rig.sidecar.pid));
      await sleep(500);
    }
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const rssAfterFill = median(rssSamples.slice(0, 4));
    const rssLater = median(rssSamples.slice(-4));
    const last = watch.events.filter((e) => e.analytics).at(-1)!.analytics!;
    const subscriber = last.subscribers[0]!;
    collection.cancel();
    watch.call.cancel();
    await rig.client.close('stalled-reader');

    assert.ok(last.droppedByPolicy > dropsAfterFill + 60, `drops keep being counted: ${dropsAfterFill} → ${last.droppedByPolicy}`);
    assert.equal(Number(subscriber.dropsByReason['queue_full'] ?? 0), subscriber.droppedByPolicy);
    assert.ok(subscriber.queueDepth <= 4, `queue depth ${subscriber.queueDepth}`);
    assert.ok(subscriber.queueBytes <= 4 * frameBytes);
    assert.ok(rssLater - rssAfterFill < 60, `sidecar RSS grew from ${rssAfterFill.toFixed(0)} to ${rssLater.toFixed(0)} MB while nobody read (samples ${rssSamples.map((mb) => mb.toFixed(0)).join(' ')})`);
  });

  test('max_fps thins a 30 fps source to 10 fps of its own timeline', async () => {
    await rig.client.open({ uri: 'test:video?size=320x240&rate=30', id: 'max-fps' });
    const { done } = rig.client.collect({ streamId: 'max-fps', format: FrameFormat.FRAME_FORMAT_GRAY, maxFps: 10, policy: BufferPolicy.BUFFER_POLICY_WAIT }, 21);
    const { frames } = await done;
    await rig.client.close('max-fps');
    const gaps = frames.slice(1).map((f, i) => (f.ptsUs - frames[i]!.ptsUs) / 1000);
    assert.ok(gaps.every((ms) => ms >= 95), `gaps ${gaps.map((g) => g.toFixed(0))}`);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    assert.ok(mean < 110, `mean gap ${mean} ms`);
    assert.ok(frames.slice(1).every((f) => f.droppedBefore >= 2), 'two of every three frames were skipped');
  });
});

describe('WatchStream', () => {
  test('streams the state as it changes and analytics at the asked interval', async () => {
    await rig.client.open({ uri: 'test:video?size=640x360&rate=30', id: 'watched' });
    const watch = rig.client.watch('watched', 500);
    await waitForEvent(watch.events, (e) => e.stream?.state === StreamState.STREAM_STATE_IDLE, 5000, 'the idle state of a stream nobody reads');
    const collection = rig.client.collect({ streamId: 'watched', format: FrameFormat.FRAME_FORMAT_JPEG, width: 320 }, 1_000_000);
    await waitForEvent(watch.events, (e) => e.stream?.state === StreamState.STREAM_STATE_LIVE, 10_000, 'live');
    const withFigures = await waitForEvent(watch.events, (e) => (e.analytics?.inputFps ?? 0) > 10 && (e.analytics?.subscribers.length ?? 0) === 1, 10_000, 'analytics with frames');
    const analytics = withFigures.analytics!;
    assert.ok(analytics.deliveredFps > 10);
    assert.ok(analytics.latency!.p50Ms >= 0 && analytics.latency!.p50Ms < 500, `latency p50 ${analytics.latency!.p50Ms} ms`);
    assert.ok(analytics.inputBitRate > 0);
    assert.equal(analytics.subscribers[0]!.output, 'jpeg 320x180');
    assert.equal(analytics.windowMs, 1000);
    const states = watch.events.filter((e) => !e.analytics).map((e) => e.stream!.state);
    assert.ok(states.indexOf(StreamState.STREAM_STATE_STARTING) < states.indexOf(StreamState.STREAM_STATE_LIVE), `states ${states}`);
    collection.cancel();
    await rig.client.close('watched');
    assert.equal(await watch.ended, undefined, 'the watch ends with OK when the stream closes');
  });
});

describe('WatchStreams', () => {
  test('sends the list when a stream opens, changes state and closes, whoever opened it', async () => {
    const { lists, call } = rig.client.watchAll(20);
    const until = async (predicate: (list: StreamInfo[]) => boolean, what: string) => {
      const deadline = Date.now() + 10_000;
      while (!lists.some(predicate)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; lists: ${JSON.stringify(lists.map((l) => l.map((s) => [s.id, s.state])))}`);
        await sleep(20);
      }
    };
    await until((list) => !list.some((s) => s.id === 'listed'), 'the first list');
    await rig.client.open({ uri: 'test:video?size=160x120', id: 'listed' });
    await until((list) => list.some((s) => s.id === 'listed' && s.state === StreamState.STREAM_STATE_IDLE), 'the opened stream');
    const collection = rig.client.collect({ streamId: 'listed', format: FrameFormat.FRAME_FORMAT_GRAY }, 3);
    await until((list) => list.some((s) => s.id === 'listed' && s.state === StreamState.STREAM_STATE_LIVE), 'the stream live');
    await collection.done;
    await rig.client.close('listed');
    const count = lists.length;
    await until((list) => lists.indexOf(list) >= count - 1 && !list.some((s) => s.id === 'listed'), 'the stream gone');
    call.cancel();
  });
});
