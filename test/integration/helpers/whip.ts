// A real browser as a WHIP publisher: headless Debian Chromium with a fake camera and
// microphone, on the sidecar's own publisher page (/publish), and a UDP relay of ours
// that can lose packets between the browser and the sidecar.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../../scripts/lib/chromium';
import { candidatePorts, redirectCandidates } from '../../../sidecar/webrtc/sdp';

/** The flags a fake camera and microphone publishing over loopback need (FACTS.md), on top of the shared ones. */
const webrtcFlags = [
  '--use-fake-device-for-media-stream=fps=30',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export function launchBrowser(): Promise<Browser> {
  return launchChromium(webrtcFlags);
}

export interface PublishOptions {
  name: string;
  token: string;
  codec?: 'vp8' | 'h264';
  /** H264's packetization mode to put first. */
  packetizationMode?: 0 | 1;
  width?: number;
  height?: number;
  fps?: number;
  audio?: boolean;
  /** Rewrites the SDP answer before the page sees it (a relay in front of the sidecar). */
  rewriteAnswer?: (sdp: string) => string;
  /** Holds the answer back this long after the sidecar made it (a slow network's handshake). */
  answerDelayMs?: number;
}

export interface Publisher {
  page: Page;
  /** The Location of the session, once live. */
  location(): Promise<string>;
  phase(): Promise<string>;
  /** When the page sent its POST (Date.now() in the browser: the same clock as this process's). */
  postedAt(): Promise<number>;
  /** The browser's outbound video figures (getStats). */
  sentVideo(): Promise<{ framesSent: number; width: number; height: number; fps: number; nackCount?: number; pliCount?: number; timestamp: number } | undefined>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the sidecar's publisher page with the token in the URL's fragment and starts
 * publishing; resolves once the page says it is live (or rejects with what it says).
 */
export async function publish(browser: Browser, publishUrl: string, options: PublishOptions, timeoutMs = 20_000): Promise<Publisher> {
  const page = await browser.newPage();
  if (options.rewriteAnswer || options.answerDelayMs) {
    const rewrite = options.rewriteAnswer ?? ((sdp: string) => sdp);
    await page.route('**/whip/**', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const response = await route.fetch();
      const body = await response.text();
      if (options.answerDelayMs) await new Promise((resolve) => setTimeout(resolve, options.answerDelayMs));
      await route.fulfill({ response, body: response.status() === 201 ? rewrite(body) : body });
    });
  }
  const query = new URLSearchParams({ name: options.name, autostart: '1' });
  if (options.codec) query.set('codec', options.codec);
  if (options.packetizationMode !== undefined) query.set('packetization_mode', String(options.packetizationMode));
  if (options.width) query.set('width', String(options.width));
  if (options.height) query.set('height', String(options.height));
  if (options.fps) query.set('fps', String(options.fps));
  if (options.audio === false) query.set('audio', '0');
  await page.goto(`${publishUrl}?${query}#token=${encodeURIComponent(options.token)}`);
  const phase = () => page.evaluate(() => (window as unknown as { sidestreamPublisher: { phase: string } }).sidestreamPublisher.phase);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await phase();
    if (now === 'live') break;
    if (now === 'failed' || Date.now() > deadline) {
      const text = await page.locator('#status').textContent();
      await page.close();
      throw new Error(`the publisher page did not go live: ${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    page,
    phase,
    postedAt: () => page.evaluate(() => (window as unknown as { sidestreamPublisher: { postedAt: number } }).sidestreamPublisher.postedAt),
    location: () => page.evaluate(() => (window as unknown as { sidestreamPublisher: { location: string } }).sidestreamPublisher.location),
    sentVideo: () => page.evaluate(() => (window as unknown as { sidestreamPublisher: { sentVideo(): Promise<never> } }).sidestreamPublisher.sentVideo()),
    stop: () => page.evaluate(() => (window as unknown as { sidestreamPublisher: { stop(): Promise<void> } }).sidestreamPublisher.stop()),
    close: () => page.close(),
  };
}

/**
 * A UDP relay on loopback in front of the sidecar's ICE port: the browser is told the
 * relay's port (the answer's candidates are rewritten), the relay forwards each way and
 * drops a share of the packets in each direction.
 */
export class LossyRelay {
  private readonly front: Socket = createSocket('udp4');
  private readonly back: Socket = createSocket('udp4');
  private browser: RemoteInfo | undefined;
  private target: { port: number; address: string } | undefined;
  dropped = 0;
  forwarded = 0;

  constructor(
    /** Share of packets dropped in each direction, 0–1. */
    public lossRate: number,
    private readonly random: () => number = Math.random,
  ) {
    this.front.on('message', (message, from) => {
      this.browser = from;
      if (!this.target) return;
      if (this.drop()) return;
      this.back.send(message, this.target.port, this.target.address);
    });
    this.back.on('message', (message) => {
      if (!this.browser) return;
      if (this.drop()) return;
      this.front.send(message, this.browser.port, this.browser.address);
    });
  }

  private drop(): boolean {
    if (this.random() < this.lossRate) {
      this.dropped++;
      return true;
    }
    this.forwarded++;
    return false;
  }

  async start(): Promise<number> {
    await Promise.all([
      new Promise<void>((resolve) => this.front.bind(0, '127.0.0.1', () => resolve())),
      new Promise<void>((resolve) => this.back.bind(0, '127.0.0.1', () => resolve())),
    ]);
    return this.front.address().port;
  }

  /** The answer with its candidates pointing at the relay; the relay forwards to the first port it named. */
  rewrite(answer: string): string {
    const port = candidatePorts(answer)[0];
    if (port === undefined) throw new Error('the answer has no UDP host candidate');
    this.target = { port, address: '127.0.0.1' };
    return redirectCandidates(answer, '127.0.0.1', this.front.address().port);
  }

  close(): void {
    this.front.close();
    this.back.close();
  }
}
