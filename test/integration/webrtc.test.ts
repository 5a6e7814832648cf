// WebRTC ingest with a real browser as the publisher: headless Debian Chromium with a
// fake camera and microphone on the sidecar's own publisher page, over the sidecar's
// WHIP endpoint, decoded by the real ffmpeg and read over real gRPC. Loss is injected
// by a UDP relay of ours on loopback between the browser and the sidecar.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { FeedList } from '../../proto/gen/sidestream/v1/sidecar';
import { bearer, connect, type TestClients } from './helpers/clients';
import { childrenOf, waitUntil } from './helpers/procfs';
import { newToken, type RunningSidecar, sleep, startSidecar } from './helpers/sidecar';
import { type Frame, FrameFormat, type StreamEvent, StreamState, StreamsTestClient, waitForEvent } from './helpers/streams';
import { Container, decodedFrames, probeFile, RecordingMode, RecordingState, RecordingTestClient } from './helpers/recordings';
import { launchBrowser, LossyRelay, publish, type Publisher } from './helpers/whip';

let sidecar: RunningSidecar;
let client: StreamsTestClient;
let clients: TestClients;
let browser: Browser;
let token: string;
let whipUrl: string;
let publishUrl: string;
/** The publisher's idle timeout given to the sidecar, in seconds. */
const idleTimeoutSeconds = 2;

before(async () => {
  token = newToken();
  sidecar = await startSidecar({ token, args: ['--whip-timeout', String(idleTimeoutSeconds)] });
  client = new StreamsTestClient(sidecar.address, token);
  clients = connect(sidecar.address, bearer(token));
  const info = await clients.getInfo();
  whipUrl = info.whipUrl;
  publishUrl = info.whipPublishUrl;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  client?.shutdown();
  clients?.close();
  sidecar?.kill();
});

const ffmpegChildren = () => childrenOf(sidecar.pid).filter((p) => p.comm === 'ffmpeg');

/** An SDP offer as this Chromium makes it (fake camera and microphone), not sent anywhere; `onlyVideoCodec` leaves one video codec. */
async function browserOffer(onlyVideoCodec?: string): Promise<string> {
  const page = await browser.newPage();
  await page.goto(publishUrl);
  const sdp = await page.evaluate(async (only) => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    const pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) {
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
      if (only && track.kind === 'video') transceiver.setCodecPreferences(RTCRtpSender.getCapabilities('video')!.codecs.filter((c) => c.mimeType.toLowerCase() === `video/${only}`));
    }
    await pc.setLocalDescription(await pc.createOffer());
    const offer = pc.localDescription!.sdp;
    pc.close();
    for (const track of stream.getTracks()) track.stop();
    return offer;
  }, onlyVideoCodec);
  await page.close();
  return sdp;
}

function post(name: string, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${whipUrl}/${name}`, { method: 'POST', headers, body });
}

/** Pts steps of consecutive frames, in ms. */
const ptsStepsMs = (frames: Frame[]) => frames.slice(1).map((frame, i) => (frame.ptsUs - frames[i]!.ptsUs) / 1000);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function lastWebrtc(events: StreamEvent[]) {
  return [...events].reverse().find((event) => event.analytics?.webrtc)?.analytics?.webrtc;
}

describe('WHIP endpoint: HTTP', () => {
  test('OPTIONS → 204 with Accept-Post: application/sdp and CORS headers', async () => {
    const response = await fetch(`${whipUrl}/any`, { method: 'OPTIONS' });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('accept-post'), 'application/sdp');
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    assert.match(response.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    assert.match(response.headers.get('access-control-expose-headers') ?? '', /Location/);
  });

  test('a wrong or missing token → 401 with WWW-Authenticate, and no session', async () => {
    const offer = await browserOffer();
    for (const headers of [{ Authorization: `Bearer ${newToken()}` }, {} as Record<string, string>]) {
      const response = await post('intruder', offer, { 'Content-Type': 'application/sdp', ...headers });
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.match(await response.text(), /token/);
    }
    await assert.rejects(client.open({ uri: 'whip:intruder', id: 'intruder' }), (error: { code: number; details: string }) => error.code === 5 && /intruder/.test(error.details));
    const feeds = await firstFeedList();
    assert.deepEqual(feeds.feeds, []);
    // DELETE and PATCH need the token too.
    assert.equal((await fetch(`${whipUrl}/intruder/x`, { method: 'DELETE' })).status, 401);
    assert.equal((await fetch(`${whipUrl}/intruder/x`, { method: 'PATCH' })).status, 401);
  });

  test('a malformed SDP → 400 with a reason; another content type → 415; unknown session → 404; PATCH → 405', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const bad = await post('bad', 'hello there', { 'Content-Type': 'application/sdp', ...auth });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /malformed SDP offer: .*v=0/);
    const noIce = await post('bad', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n', { 'Content-Type': 'application/sdp', ...auth });
    assert.equal(noIce.status, 400);
    assert.match(await noIce.text(), /ICE credentials/);
    const json = await post('bad', '{}', { 'Content-Type': 'application/json', ...auth });
    assert.equal(json.status, 415);
    assert.match(await json.text(), /application\/sdp/);
    assert.equal((await fetch(`${whipUrl}/bad/nosuchsession`, { method: 'DELETE', headers: auth })).status, 404);
    assert.equal((await fetch(`${whipUrl}/bad/nosuchsession`, { method: 'PATCH', headers: auth })).status, 404);
    assert.equal((await fetch(`${whipUrl}/bad%2F..`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...auth }, body: 'v=0' })).status, 400);
    assert.deepEqual((await firstFeedList()).feeds, []);
  });

  test('an offer whose video is only VP9 → 406 naming what it offered and what the sidecar takes', async () => {
    const response = await post('vp9', await browserOffer('vp9'), { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` });
    assert.equal(response.status, 406);
    assert.match(await response.text(), /video codecs \(vp9\) are not taken: offer VP8 or H264/);
    assert.deepEqual((await firstFeedList()).feeds, []);
  });

  test('the publisher page has a CSP with a nonce and no inline handlers', async () => {
    const response = await fetch(publishUrl);
    assert.equal(response.status, 200);
    const csp = response.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.match(csp, /default-src 'none'/);
    const html = await response.text();
    assert.ok(html.includes(`nonce="${nonce}"`));
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
  });
});

/** The first list WatchFeeds sends. */
function firstFeedList(): Promise<FeedList> {
  return new Promise((resolve, reject) => {
    const call = clients.sidecar.watchFeeds({}, clients.metadata());
    call.once('data', (list: FeedList) => {
      resolve(list);
      call.cancel();
    });
    call.once('error', (error: Error & { code?: number }) => {
      if (error.code !== 1) reject(error);
    });
  });
}

describe('WHIP publishing from Chromium', () => {
  let vp8: Publisher | undefined;

  test('VP8: decoded frames of the expected size at a steady rate; WebRTC figures in the analytics; PLI at the decoder start', async () => {
    vp8 = await publish(browser, publishUrl, { name: 'vp8cam', token, codec: 'vp8', width: 640, height: 480, fps: 30 });
    const location = await vp8.location();
    assert.match(location, /^\/whip\/vp8cam\/[\w-]+$/);
    const feeds = await firstFeedList();
    assert.deepEqual(feeds.feeds.map((f) => [f.name, f.uri, f.videoCodec, f.audioCodec]), [['vp8cam', 'whip:vp8cam', 'vp8', 'opus']]);

    await client.open({ uri: 'whip:vp8cam', id: 'vp8cam' });
    const watch = client.watch('vp8cam', 250);
    const { done } = client.collect({ streamId: 'vp8cam', format: FrameFormat.FRAME_FORMAT_I420 }, 150);
    const result = await done;
    assert.equal(result.error, undefined, result.error?.message);
    const frames = result.frames;
    assert.equal(frames.length, 150);
    for (const frame of frames) {
      assert.equal(frame.width, 640);
      assert.equal(frame.height, 480);
      assert.equal(frame.data.length, 640 * 480 * 1.5);
    }
    // Steady: the publisher's own clock (RTP timestamps) says 30 fps, and no frame is missing.
    const steps = ptsStepsMs(frames.slice(30));
    assert.ok(Math.abs(median(steps) - 33.3) < 5, `median pts step ${median(steps)} ms`);
    assert.ok(steps.every((step) => step > 0 && step < 150), `pts steps ${steps.filter((s) => s <= 0 || s >= 150).join(', ')}`);
    // Frames carry their arrival (capture) time: latency is measurable.
    assert.ok(frames.every((frame) => frame.capturedAtUs > 0 && frame.decodedAtUs >= frame.capturedAtUs - 50_000));

    await waitForEvent(watch.events, (e) => (e.analytics?.webrtc?.video?.packetsReceived ?? 0) > 0, 5000, 'webrtc analytics');
    const webrtc = lastWebrtc(watch.events)!;
    watch.call.cancel();
    assert.equal(webrtc.iceState, 'connected');
    assert.equal(webrtc.video?.codec, 'vp8');
    assert.ok(webrtc.video!.bitRate > 0);
    assert.ok(webrtc.video!.frameRate > 0);
    assert.ok(webrtc.video!.keyframes >= 1);
    assert.ok(webrtc.video!.plisSent >= 1, 'a PLI when the decoder started');
    assert.ok(webrtc.video!.jitterMs >= 0);
    assert.equal(webrtc.audio?.codec, 'opus');
    assert.ok(webrtc.audio!.packetsReceived > 0);
    assert.ok(webrtc.rembBitRate > 0, 'REMB sent');
    const sent = await vp8.sentVideo();
    assert.ok((sent?.pliCount ?? 0) >= 1, 'the browser saw the PLI');
  });

  test('Opus: the publisher\'s audio decoded as 48 kHz PCM with advancing timestamps', async () => {
    assert.ok(vp8, 'the VP8 publisher runs');
    const { done } = client.collectAudio({ streamId: 'vp8cam', frameMs: 20 }, 100);
    const result = await done;
    assert.equal(result.error, undefined, result.error?.message);
    assert.equal(result.frames.length, 100);
    const frames = result.frames;
    assert.ok(frames.every((f) => f.sampleRate === 48_000 && f.samples === 960 && f.channels >= 1));
    const steps = frames.slice(1).map((f, i) => (f.ptsUs - frames[i]!.ptsUs) / 1000);
    assert.ok(Math.abs(median(steps) - 20) < 1, `median audio step ${median(steps)} ms`);
    // Chromium's fake microphone beeps: some frame is not silence.
    const loudest = Math.max(...frames.map((f) => {
      let peak = 0;
      for (let i = 0; i + 1 < f.data.length; i += 2) peak = Math.max(peak, Math.abs(f.data.readInt16LE(i)));
      return peak;
    }));
    assert.ok(loudest > 100, `peak sample ${loudest}`);
  });

  test('recording a WHIP stream: VP8 and Opus copied into WebM, decodable, about as long as recorded', async () => {
    assert.ok(vp8, 'the VP8 publisher runs');
    const folder = mkdtempSync(join(tmpdir(), 'whip-rec-'));
    const recordings = new RecordingTestClient(sidecar.address, token);
    try {
      const started = await recordings.start({ streamId: 'vp8cam', folder, container: Container.CONTAINER_WEBM, mode: RecordingMode.RECORDING_MODE_COPY });
      await sleep(3000);
      const stopped = await recordings.stop(started.id);
      assert.equal(stopped.state, RecordingState.RECORDING_STATE_STOPPED, stopped.reason);
      // A decoder restart (the previous test's subscriber leaving) continues the recording in a new part.
      let frames = 0;
      let seconds = 0;
      for (const file of stopped.files) {
        const probed = probeFile(file);
        assert.deepEqual(probed.streams.map((s) => `${s.type} ${s.codec}`).sort(), ['audio opus', 'video vp8'], file);
        frames += decodedFrames(file);
        seconds += probed.durationSeconds;
      }
      assert.ok(frames >= 50 && frames <= 120, `${frames} frames decoded from about 3 s in ${stopped.files.length} part(s)`);
      assert.ok(seconds > 1.8 && seconds < 4.5, `${seconds} s recorded`);
    } finally {
      recordings.shutdown();
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('DELETE ends the session: the stream goes to ended and its ffmpeg exits; a second DELETE is 404', async () => {
    assert.ok(vp8, 'the VP8 publisher runs');
    const watch = client.watch('vp8cam', 250);
    const { done } = client.collect({ streamId: 'vp8cam', format: FrameFormat.FRAME_FORMAT_JPEG }, 100_000);
    await waitUntil(() => ffmpegChildren().length > 0, 10_000, () => 'an ffmpeg decodes the stream');
    const location = await vp8.location();
    await vp8.stop(); // The page's Stop: it sends DELETE to its Location.
    const result = await done;
    assert.equal(result.ended, true, 'the subscription ends with OK');
    const ended = await waitForEvent(watch.events, (e) => e.stream?.state === StreamState.STREAM_STATE_ENDED, 5000, 'ended');
    assert.match(ended.stream!.reason, /DELETE/);
    watch.call.cancel();
    await waitUntil(() => ffmpegChildren().length === 0, 5000, () => `ffmpeg left: ${JSON.stringify(ffmpegChildren())}`);
    assert.deepEqual((await firstFeedList()).feeds, []);
    const again = await fetch(new URL(location, whipUrl), { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(again.status, 404);
    await vp8.close();
    await client.close('vp8cam');
  });

  for (const mode of [1, 0] as const) test(`H264 in packetization mode ${mode} (put first by the page): decoded frames of the expected size`, async () => {
    const h264 = await publish(browser, publishUrl, { name: 'h264cam', token, codec: 'h264', packetizationMode: mode, width: 640, height: 480, fps: 30, audio: false });
    try {
      const feeds = await firstFeedList();
      assert.equal(feeds.feeds[0]?.videoCodec, 'h264');
      assert.equal(feeds.feeds[0]?.audioCodec, '');
      await client.open({ uri: 'whip:h264cam', id: 'h264cam' });
      const probe = await client.probe('whip:h264cam');
      assert.equal(probe.streams[0]?.codec, 'h264');
      const { done } = client.collect({ streamId: 'h264cam', format: FrameFormat.FRAME_FORMAT_RGB24, width: 320 }, 90);
      const result = await done;
      assert.equal(result.error, undefined, result.error?.message);
      assert.equal(result.frames.length, 90);
      assert.ok(result.frames.every((f) => f.width === 320 && f.height === 240 && f.data.length === 320 * 240 * 3));
      const steps = ptsStepsMs(result.frames.slice(20));
      assert.ok(Math.abs(median(steps) - 33.3) < 5, `median pts step ${median(steps)} ms`);
      const sent = await h264.sentVideo();
      assert.ok(sent && sent.framesSent > 0);
      assert.match(String((sent as { codecId?: string }).codecId), new RegExp(`packetization-mode=${mode}`), 'the browser sends in that mode');
    } finally {
      await h264.stop();
      await h264.close();
      await client.close('h264cam').catch(() => undefined);
    }
  });

  test('5 % packet loss each way through a UDP relay: NACKs (and PLIs) are sent and decoding goes on', async () => {
    const relay = new LossyRelay(0.05);
    await relay.start();
    const lossy = await publish(browser, publishUrl, { name: 'lossy', token, codec: 'vp8', width: 640, height: 480, fps: 30, rewriteAnswer: (sdp) => relay.rewrite(sdp) });
    try {
      await client.open({ uri: 'whip:lossy', id: 'lossy' });
      const watch = client.watch('lossy', 250);
      let collected = 0;
      const { done } = client.collect({ streamId: 'lossy', format: FrameFormat.FRAME_FORMAT_I420, width: 320 }, 100_000, () => {
        collected++;
      }, { keepFrames: false });
      await waitUntil(() => collected > 0, 15_000, () => 'a first frame through the lossy relay');
      await sleep(6000);
      const firstHalf = collected;
      await sleep(3000);
      const secondHalf = collected - firstHalf;
      const webrtc = lastWebrtc(watch.events)!;
      watch.call.cancel();
      assert.ok(relay.dropped > 20, `the relay dropped ${relay.dropped} packets`);
      assert.ok(webrtc.video!.nacksSent > 0, `NACKs sent: ${webrtc.video!.nacksSent}`);
      assert.ok(webrtc.video!.packetsRetransmitted > 0, `retransmissions received: ${webrtc.video!.packetsRetransmitted}`);
      assert.ok(webrtc.video!.nacksSent + webrtc.video!.plisSent > 1);
      const sent = await lossy.sentVideo();
      assert.ok((sent?.nackCount ?? 0) > 0, 'the browser received NACKs');
      // Decoding goes on: frames keep coming in the last 3 s (at least a third of 30 fps).
      assert.ok(secondHalf >= 30, `${secondHalf} frames in the last 3 s`);
      const stream = (await client.list()).find((s) => s.id === 'lossy');
      assert.equal(stream?.state, StreamState.STREAM_STATE_LIVE);
      done.catch(() => undefined);
    } finally {
      await lossy.stop().catch(() => undefined);
      await lossy.close();
      relay.close();
      await client.close('lossy').catch(() => undefined);
    }
  });

  test('a handshake slower than the idle timeout (the answer held back 3.5 s): the session waits for the first media', async () => {
    const slow = await publish(browser, publishUrl, { name: 'slowstart', token, codec: 'vp8', width: 320, height: 240, audio: false, answerDelayMs: idleTimeoutSeconds * 1000 + 1500 });
    try {
      assert.ok(Date.now() - (await slow.postedAt()) >= idleTimeoutSeconds * 1000 + 1500, 'the page went live after the idle timeout');
      await client.open({ uri: 'whip:slowstart', id: 'slowstart' });
      const { done } = client.collect({ streamId: 'slowstart', format: FrameFormat.FRAME_FORMAT_I420 }, 30);
      const result = await done;
      assert.equal(result.error, undefined, result.error?.message);
      assert.equal(result.frames.length, 30);
    } finally {
      await slow.stop().catch(() => undefined);
      await slow.close();
      await client.close('slowstart').catch(() => undefined);
    }
  });

  test('a publisher that vanishes without DELETE: the session times out, the stream goes to ended, its ffmpeg exits', async () => {
    const relay = new LossyRelay(0);
    await relay.start();
    const gone = await publish(browser, publishUrl, { name: 'vanishing', token, codec: 'vp8', width: 320, height: 240, rewriteAnswer: (sdp) => relay.rewrite(sdp) });
    await client.open({ uri: 'whip:vanishing', id: 'vanishing' });
    const watch = client.watch('vanishing', 250);
    const { done } = client.collect({ streamId: 'vanishing', format: FrameFormat.FRAME_FORMAT_JPEG }, 30);
    assert.equal((await done).frames.length, 30);
    const { done: more } = client.collect({ streamId: 'vanishing', format: FrameFormat.FRAME_FORMAT_JPEG }, 100_000);
    await waitUntil(() => ffmpegChildren().length > 0, 5000, () => 'an ffmpeg decodes the stream');
    // The network goes away (nothing more arrives, not even a DTLS close), then the page.
    relay.lossRate = 1;
    const since = Date.now();
    const ended = await waitForEvent(watch.events, (e) => e.stream?.state === StreamState.STREAM_STATE_ENDED, 15_000, 'ended');
    assert.match(ended.stream!.reason, /no media from the publisher/);
    assert.ok(Date.now() - since >= idleTimeoutSeconds * 1000 - 300, 'not before the timeout');
    assert.equal((await more).ended, true);
    await waitUntil(() => ffmpegChildren().length === 0, 5000, () => `ffmpeg left: ${JSON.stringify(ffmpegChildren())}`);
    watch.call.cancel();
    await gone.page.close({ runBeforeUnload: false });
    relay.close();
    assert.deepEqual((await firstFeedList()).feeds, []);
    await client.close('vanishing');
  });

  test('a page closed abruptly (no DELETE): the stream goes to ended and the name can publish again', async () => {
    const first = await publish(browser, publishUrl, { name: 'again', token, codec: 'vp8', width: 320, height: 240, audio: false });
    await client.open({ uri: 'whip:again', id: 'again' });
    const watch = client.watch('again', 250);
    const { done } = client.collect({ streamId: 'again', format: FrameFormat.FRAME_FORMAT_JPEG }, 10);
    assert.equal((await done).frames.length, 10);
    await first.page.close({ runBeforeUnload: false });
    await waitForEvent(watch.events, (e) => e.stream?.state === StreamState.STREAM_STATE_ENDED, 15_000, 'ended');
    await waitUntil(() => ffmpegChildren().length === 0, 5000, () => `ffmpeg left: ${JSON.stringify(ffmpegChildren())}`);
    // The same name publishes again; the stream that ended decodes it for a new subscriber.
    const second = await publish(browser, publishUrl, { name: 'again', token, codec: 'vp8', width: 320, height: 240, audio: false });
    try {
      const { done: again } = client.collect({ streamId: 'again', format: FrameFormat.FRAME_FORMAT_JPEG }, 10);
      const result = await again;
      assert.equal(result.error, undefined, result.error?.message);
      assert.equal(result.frames.length, 10);
    } finally {
      watch.call.cancel();
      await second.stop();
      await second.close();
      await client.close('again');
    }
  });
});

describe('WHIP endpoint beyond loopback, over TLS', () => {
  test('--whip-listen 0.0.0.0:0 with a certificate: an https URL with a LAN address, a warning in the log, OPTIONS answered over TLS; --whip-listen off: no URL', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'whip-tls-'));
    const cert = join(folder, 'cert.pem');
    const key = join(folder, 'key.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=sidestream-test'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const otherToken = newToken();
    const exposed = await startSidecar({ token: otherToken, args: ['--whip-listen', '0.0.0.0:0', '--whip-tls-cert', cert, '--whip-tls-key', key] });
    const off = await startSidecar({ token: otherToken, args: ['--whip-listen', 'off'] });
    const exposedClients = connect(exposed.address, bearer(otherToken));
    const offClients = connect(off.address, bearer(otherToken));
    try {
      assert.ok(exposed.stderrLines.some((line) => /\[warn\] WHIP endpoint on 0\.0\.0\.0:0, beyond loopback/.test(line)), exposed.stderrLines.join('\n'));
      const info = await exposedClients.getInfo();
      const url = new URL(info.whipUrl);
      assert.equal(url.protocol, 'https:');
      assert.notEqual(url.hostname, '0.0.0.0');
      assert.match(info.whipPublishUrl, /^https:\/\/.+\/publish$/);
      const status = await new Promise<number>((resolve, reject) => {
        const request = httpsRequest(`https://127.0.0.1:${url.port}/whip/phone`, { method: 'OPTIONS', ca: readFileSync(cert), checkServerIdentity: () => undefined }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.once('error', reject);
        request.end();
      });
      assert.equal(status, 204);
      const offInfo = await offClients.getInfo();
      assert.equal(offInfo.whipUrl, '');
      assert.ok(!offInfo.capabilities.includes('webrtc'));
    } finally {
      exposedClients.close();
      offClients.close();
      exposed.kill();
      off.kill();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
