// WebRTC ingest's figures with a real browser as the publisher (headless Chromium, fake
// camera at 1280x720, 30 fps, on the sidecar's publisher page): POST → first decoded
// frame, and decoded frames per second against what the browser says it sent (its
// getStats framesSent, the baseline measured in the same run) over 20 s, without and
// with 5 % loss each way through a UDP relay of ours.
import { connect, bearer } from '../../test/integration/helpers/clients';
import { newToken, type RunningSidecar, sleep, startSidecar } from '../../test/integration/helpers/sidecar';
import { BufferPolicy, FrameFormat, StreamsTestClient } from '../../test/integration/helpers/streams';
import { launchBrowser, LossyRelay, publish, type Publisher } from '../../test/integration/helpers/whip';
import type { Browser } from 'playwright-core';
import type { FeedList } from '../../proto/gen/sidestream/v1/sidecar';
import type { BenchSuite } from '../run';
import { median, percentile, round } from '../stats';

const width = 1280;
const height = 720;
const windowSeconds = 20;
const warmupSeconds = 3;

interface Context {
  sidecar: RunningSidecar;
  token: string;
  client: StreamsTestClient;
  browser: Browser;
  publishUrl: string;
  watchFeeds(): { added(name: string): Promise<number>; cancel(): void };
}

/** POST → first decoded frame: the stream is opened and subscribed as soon as the sidecar lists the publisher. */
async function firstFrameMs(context: Context, name: string): Promise<number> {
  const feeds = context.watchFeeds();
  const added = feeds.added(name);
  const publisher = await publish(context.browser, context.publishUrl, { name, token: context.token, width, height, fps: 30 });
  try {
    await added;
    await context.client.open({ uri: `whip:${name}`, id: name });
    let firstAt = 0;
    await context.client.collect({ streamId: name, format: FrameFormat.FRAME_FORMAT_I420, width: 640 }, 1, () => {
      firstAt = Date.now();
    }).done;
    return firstAt - (await publisher.postedAt());
  } finally {
    feeds.cancel();
    await publisher.stop();
    await publisher.close();
    await context.client.close(name);
  }
}

interface RateRun {
  decodedFps: number;
  sentFps: number;
  ratio: number;
  width: number;
  height: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  nacksSent: number;
  plisSent: number;
  packetsLost: number;
  bitRate: number;
  relayDropped?: number;
}

/** Decoded frames per second over the window, against the frames the browser sent in it. */
async function rateRun(context: Context, name: string, lossRate: number | undefined): Promise<RateRun> {
  const relay = lossRate === undefined ? undefined : new LossyRelay(lossRate);
  await relay?.start();
  const publisher: Publisher = await publish(context.browser, context.publishUrl, {
    name, token: context.token, width, height, fps: 30,
    ...(relay ? { rewriteAnswer: (sdp: string) => relay.rewrite(sdp) } : {}),
  });
  try {
    await context.client.open({ uri: `whip:${name}`, id: name });
    let received = 0;
    let last = { width: 0, height: 0 };
    const latencies: number[] = [];
    let counting = false;
    const collection = context.client.collect(
      { streamId: name, format: FrameFormat.FRAME_FORMAT_I420, width: 640, policy: BufferPolicy.BUFFER_POLICY_DROP_OLDEST, queueFrames: 64 },
      1e9,
      (frame) => {
        if (!counting) return;
        received++;
        if (frame.capturedAtUs > 0) latencies.push((Date.now() * 1000 - frame.capturedAtUs) / 1000);
      },
      { keepFrames: false },
    );
    await sleep(warmupSeconds * 1000);
    const before = await publisher.sentVideo();
    counting = true;
    await sleep(windowSeconds * 1000);
    counting = false;
    const after = await publisher.sentVideo();
    const watch = context.client.watch(name, 200);
    await sleep(500);
    const webrtc = [...watch.events].reverse().find((e) => e.analytics?.webrtc)?.analytics?.webrtc;
    watch.call.cancel();
    collection.cancel();
    if (!before || !after) throw new Error('the browser reports no outbound video');
    last = { width: after.width, height: after.height };
    const sentSeconds = (after.timestamp - before.timestamp) / 1000;
    const sentFps = (after.framesSent - before.framesSent) / sentSeconds;
    const decodedFps = received / windowSeconds;
    return {
      decodedFps: round(decodedFps, 2),
      sentFps: round(sentFps, 2),
      ratio: round(decodedFps / sentFps, 3),
      width: last.width,
      height: last.height,
      latencyP50Ms: latencies.length ? round(median(latencies)) : 0,
      latencyP95Ms: latencies.length ? round(percentile(latencies, 95)) : 0,
      nacksSent: webrtc?.video?.nacksSent ?? 0,
      plisSent: webrtc?.video?.plisSent ?? 0,
      packetsLost: webrtc?.video?.packetsLost ?? 0,
      bitRate: Math.round(webrtc?.video?.bitRate ?? 0),
      ...(relay ? { relayDropped: relay.dropped } : {}),
    };
  } finally {
    await publisher.stop().catch(() => undefined);
    await publisher.close();
    relay?.close();
    await context.client.close(name).catch(() => undefined);
  }
}

export const webrtcSuite: BenchSuite = {
  name: 'webrtc',
  description: 'WHIP ingest from headless Chromium (720p30): POST → first frame, decoded/sent fps over 20 s, with 5 % loss',
  async run() {
    const token = newToken();
    const sidecar = await startSidecar({ token });
    const clients = connect(sidecar.address, bearer(token));
    const client = new StreamsTestClient(sidecar.address, token);
    const browser = await launchBrowser();
    try {
      const info = await clients.getInfo();
      const context: Context = {
        sidecar, token, client, browser, publishUrl: info.whipPublishUrl,
        watchFeeds() {
          const call = clients.sidecar.watchFeeds({}, clients.metadata());
          const waiters = new Map<string, () => void>();
          call.on('data', (list: FeedList) => {
            for (const feed of list.feeds) waiters.get(feed.name)?.();
          });
          call.on('error', () => undefined);
          return {
            added: (name) => new Promise<number>((resolve) => waiters.set(name, () => resolve(Date.now()))),
            cancel: () => call.cancel(),
          };
        },
      };
      const firstFrames: number[] = [];
      for (let i = 0; i < 5; i++) firstFrames.push(await firstFrameMs(context, `first-${i}`));
      const clean = await rateRun(context, 'rate', undefined);
      const lossy = await rateRun(context, 'rate-loss5', 0.05);
      return {
        whip_first_frame_ms: round(median(firstFrames)),
        whip_first_frame_ms_samples: firstFrames.map((v) => round(v)),
        whip_fps_ratio: clean.ratio,
        whip_fps_ratio_loss5: lossy.ratio,
        targets: { whip_first_frame_ms: '<= 1000', whip_fps_ratio: '>= 0.95', whip_fps_ratio_loss5: '>= 0.85' },
        clean,
        loss5: lossy,
        window_seconds: windowSeconds,
        publisher: `Chromium fake camera, asked for ${width}x${height} at 30 fps`,
      };
    } finally {
      await browser.close();
      client.shutdown();
      clients.close();
      sidecar.kill();
    }
  },
};
