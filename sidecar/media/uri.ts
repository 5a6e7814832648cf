import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MediaError, type NetworkSource, type Platform, type SourceSpec, type TestTone } from './types';

/**
 * Source URIs, one scheme per kind of source; our options go in the query string,
 * except for network URLs, whose query belongs to the server: their options go in
 * the fragment (`rtsp://cam/live#transport=udp`), which is never sent anywhere.
 *
 *   test:[video]?size=1280x720&rate=30&pattern=testsrc2&duration=SECONDS&tone=HZ&sample_rate=48000&channels=2
 *   test:audio?tone=440&sample_rate=48000&channels=2&duration=SECONDS
 *   file:///abs/clip.mp4?loop=1&realtime=1          (a plain absolute path works too)
 *   camera:[DEVICE]?size=WxH&rate=R&pixel_format=F
 *   screen:[DISPLAY]?region=X,Y,W,H&rate=R&cursor=0|1
 *   mic:[DEVICE]?sample_rate=48000&channels=2
 *   whip:NAME                                        (what a WHIP publisher named NAME sends)
 *   rtsp:// rtsps:// rtmp:// rtmps:// srt:// udp:// http:// https://   #transport=tcp|udp (rtsp)
 */
export const sourceSchemes = ['test', 'file', 'camera', 'screen', 'mic', 'whip', 'rtsp', 'rtsps', 'rtmp', 'rtmps', 'srt', 'udp', 'http', 'https'] as const;

/** Schemes whose media the sidecar receives itself (feeds.ts): `whip:<name>`. */
const feedSchemes = new Set(['whip']);
const feedNamePattern = /^[A-Za-z0-9._-]{1,64}$/;

const testPatterns = ['testsrc2', 'testsrc', 'smptebars', 'smptehdbars', 'rgbtestsrc', 'yuvtestsrc', 'mandelbrot'];
const networkProtocols = new Set<NetworkSource['protocol']>(['rtsp', 'rtsps', 'rtmp', 'rtmps', 'srt', 'udp', 'http', 'https']);

const invalid = (message: string) => new MediaError('invalid-argument', message);

/** Reads the options a source kind knows; any other option is an error that lists the known ones. */
class Options {
  constructor(
    private readonly params: URLSearchParams,
    private readonly kind: string,
    known: readonly string[],
  ) {
    for (const key of params.keys()) {
      if (!known.includes(key)) throw invalid(`unknown option "${key}" for ${kind} sources; known options: ${known.join(', ')}`);
    }
  }

  string(name: string): string | undefined {
    const value = this.params.get(name);
    return value === null || value === '' ? undefined : value;
  }

  number(name: string, range: { min: number; max: number; integer?: boolean }): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < range.min || value > range.max || (range.integer && !Number.isInteger(value))) {
      throw invalid(`${this.kind} option ${name}=${text} must be ${range.integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}`);
    }
    return value;
  }

  flag(name: string, fallback: boolean): boolean {
    const text = this.string(name);
    if (text === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'off'].includes(text)) return false;
    throw invalid(`${this.kind} option ${name}=${text} must be 1 or 0`);
  }

  size(name: string): { width: number; height: number } | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const match = /^(\d{1,5})x(\d{1,5})$/.exec(text);
    const width = Number(match?.[1]);
    const height = Number(match?.[2]);
    if (!match || width < 2 || height < 2 || width > 16384 || height > 16384) {
      throw invalid(`${this.kind} option ${name}=${text} must be WIDTHxHEIGHT, e.g. 1280x720 (2 to 16384 each)`);
    }
    return { width, height };
  }
}

function parseUrl(uri: string): URL {
  try {
    return new URL(uri);
  } catch {
    throw invalid(`"${uri}" is not a source URI; use one of ${sourceSchemes.map((s) => `${s}:`).join(', ')} (e.g. test:video, file:///path/clip.mp4, rtsp://host/stream)`);
  }
}

export function parseSourceUri(uri: string, platform: Platform): SourceSpec {
  const text = uri.trim();
  if (text === '') throw invalid('the source URI is empty; e.g. test:video or file:///path/clip.mp4');
  if (text.includes('\0')) throw invalid('the source URI contains a NUL byte');
  // A plain absolute path is a file (on Windows also C:\…, which URL would read as scheme "c:").
  if ((text.startsWith('/') || /^[A-Za-z]:[\\/]/.test(text)) && isAbsolute(text)) {
    return { kind: 'file', uri: text, live: false, path: text, loop: false, realtime: false };
  }
  const url = parseUrl(text);
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  switch (scheme) {
    case 'test':
      return parseTest(text, url);
    case 'file':
      return parseFile(text, url);
    case 'camera':
      return parseCamera(text, url, platform);
    case 'screen':
      return parseScreen(text, url, platform);
    case 'mic':
      return parseMic(text, url, platform);
    default:
      if (feedSchemes.has(scheme)) return parseFeed(text, url, scheme);
      if (networkProtocols.has(scheme as NetworkSource['protocol'])) return parseNetwork(text, url, scheme as NetworkSource['protocol']);
      throw invalid(`unknown source scheme "${scheme}:"; use one of ${sourceSchemes.map((s) => `${s}:`).join(', ')}`);
  }
}

function parseTone(options: Options, required: boolean): TestTone | undefined {
  const frequency = options.number('tone', { min: 1, max: 24_000 });
  if (frequency === undefined) {
    if (required) throw invalid('test:audio needs tone=HZ, e.g. test:audio?tone=440');
    if (options.string('sample_rate') !== undefined || options.string('channels') !== undefined) {
      throw invalid('test: sample_rate and channels describe the tone: add tone=HZ');
    }
    return undefined;
  }
  return {
    frequency,
    sampleRate: options.number('sample_rate', { min: 8000, max: 192_000, integer: true }) ?? 48_000,
    channels: options.number('channels', { min: 1, max: 2, integer: true }) ?? 2,
  };
}

function parseTest(uri: string, url: URL): SourceSpec {
  const what = url.pathname || 'video';
  if (what !== 'video' && what !== 'audio') throw invalid(`test sources are test:video or test:audio; got test:${what}`);
  const toneOptions = ['tone', 'sample_rate', 'channels'];
  const options = new Options(url.searchParams, `test:${what}`, what === 'audio' ? [...toneOptions, 'duration'] : ['size', 'rate', 'pattern', 'duration', ...toneOptions]);
  const tone = parseTone(options, what === 'audio');
  const duration = options.string('duration') !== undefined ? { durationSeconds: options.number('duration', { min: 0.1, max: 86_400 })! } : {};
  if (what === 'audio') {
    return { kind: 'test', uri, live: true, video: false, width: 0, height: 0, rate: 0, pattern: '', tone: tone!, ...duration };
  }
  const size = options.size('size') ?? { width: 1280, height: 720 };
  let pattern = options.string('pattern') ?? 'testsrc2';
  let color: string | undefined;
  if (pattern.startsWith('color:')) {
    color = pattern.slice('color:'.length);
    if (!/^(#?[0-9A-Fa-f]{6}|[A-Za-z]{3,20})$/.test(color)) throw invalid(`test: pattern color:${color} needs a colour name or RRGGBB`);
    pattern = 'color';
  } else if (!testPatterns.includes(pattern)) {
    throw invalid(`unknown test pattern "${pattern}"; known: ${testPatterns.join(', ')}, color:<name or RRGGBB>`);
  }
  return {
    kind: 'test',
    uri,
    live: true,
    video: true,
    ...size,
    rate: options.number('rate', { min: 1, max: 240 }) ?? 30,
    pattern,
    ...(color ? { color } : {}),
    ...(tone ? { tone } : {}),
    ...duration,
  };
}

const defaultMic: Record<Platform, string> = { linux: 'default', darwin: '0', win32: '' };

function parseMic(uri: string, url: URL, platform: Platform): SourceSpec {
  const device = decodeURIComponent(url.pathname) || defaultMic[platform];
  if (!device) throw invalid('mic: needs a device name on Windows, e.g. mic:Microphone%20Array (ListDevices shows them)');
  if (platform === 'linux' && !/^[A-Za-z0-9._:@-]{1,200}$/.test(device)) {
    throw invalid(`microphone "${device}" is not a PulseAudio source name (ListDevices shows them; "default" is the default source)`);
  }
  const options = new Options(url.searchParams, 'mic:', ['sample_rate', 'channels']);
  const sampleRate = options.number('sample_rate', { min: 8000, max: 192_000, integer: true });
  const channels = options.number('channels', { min: 1, max: 2, integer: true });
  return { kind: 'mic', uri, live: true, device, ...(sampleRate !== undefined ? { sampleRate } : {}), ...(channels !== undefined ? { channels } : {}) };
}

function parseFile(uri: string, url: URL): SourceSpec {
  if (url.host !== '' && url.host !== 'localhost') throw invalid(`file: URIs name a file on this machine; got host "${url.host}"`);
  let path: string;
  try {
    const bare = new URL(url.href);
    bare.search = '';
    bare.hash = '';
    path = fileURLToPath(bare);
  } catch (error) {
    throw invalid(`"${uri}" is not a valid file URI: ${(error as Error).message}`);
  }
  const options = new Options(url.searchParams, 'file:', ['loop', 'realtime']);
  return { kind: 'file', uri, live: false, path, loop: options.flag('loop', false), realtime: options.flag('realtime', false) };
}

const defaultCamera: Record<Platform, string> = { linux: '/dev/video0', darwin: '0', win32: '' };

function parseCamera(uri: string, url: URL, platform: Platform): SourceSpec {
  const device = decodeURIComponent(url.pathname) || defaultCamera[platform];
  if (!device) throw invalid('camera: needs a device name on Windows, e.g. camera:Integrated%20Camera (ListDevices shows them)');
  if (platform === 'linux' && !/^\/dev\/video\d+$/.test(device)) {
    throw invalid(`camera device "${device}" must be /dev/videoN on Linux (ListDevices shows them)`);
  }
  const options = new Options(url.searchParams, 'camera:', ['size', 'rate', 'pixel_format']);
  const size = options.size('size');
  const rate = options.number('rate', { min: 1, max: 240 });
  const pixelFormat = options.string('pixel_format');
  if (pixelFormat !== undefined && !/^[a-z0-9_]{2,20}$/.test(pixelFormat)) throw invalid(`camera option pixel_format=${pixelFormat} is not a format name such as mjpeg or yuyv422`);
  return {
    kind: 'camera',
    uri,
    live: true,
    device,
    ...(size ?? {}),
    ...(rate !== undefined ? { rate } : {}),
    ...(pixelFormat !== undefined ? { pixelFormat } : {}),
  };
}

function parseScreen(uri: string, url: URL, platform: Platform): SourceSpec {
  const defaultDisplay = platform === 'linux' ? (process.env.DISPLAY ?? '') : platform === 'win32' ? 'desktop' : '1';
  const display = decodeURIComponent(url.pathname) || defaultDisplay;
  if (!display) throw invalid('screen: needs a display such as screen::0 (DISPLAY is not set in the sidecar\'s environment)');
  if (platform === 'linux' && !/^[A-Za-z0-9.-]*:\d+(\.\d+)?$/.test(display)) {
    throw invalid(`screen display "${display}" must be an X display such as :0 or :0.0`);
  }
  const options = new Options(url.searchParams, 'screen:', ['region', 'rate', 'cursor']);
  const regionText = options.string('region');
  let region: { x: number; y: number; width: number; height: number } | undefined;
  if (regionText !== undefined) {
    const parts = regionText.split(',').map(Number);
    if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0) || parts[2]! < 2 || parts[3]! < 2) {
      throw invalid(`screen option region=${regionText} must be X,Y,WIDTH,HEIGHT in pixels, e.g. 0,0,1280,720`);
    }
    region = { x: parts[0]!, y: parts[1]!, width: parts[2]!, height: parts[3]! };
  }
  return {
    kind: 'screen',
    uri,
    live: true,
    display,
    ...(region ? { region } : {}),
    rate: options.number('rate', { min: 1, max: 240 }) ?? 30,
    cursor: options.flag('cursor', true),
  };
}

function parseNetwork(uri: string, url: URL, protocol: NetworkSource['protocol']): SourceSpec {
  if (!url.hostname && protocol !== 'udp') throw invalid(`${protocol}: URL "${uri}" has no host`);
  const options = new Options(new URLSearchParams(url.hash.slice(1)), `${protocol}:`, protocol.startsWith('rtsp') ? ['transport'] : []);
  const transport = options.string('transport') ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'udp') throw invalid(`rtsp option transport=${transport} must be tcp or udp`);
  const target = new URL(url.href);
  target.hash = '';
  return { kind: 'network', uri, live: true, protocol, url: target.href, transport };
}

function parseFeed(uri: string, url: URL, scheme: string): SourceSpec {
  const name = decodeURIComponent(url.pathname);
  if (!feedNamePattern.test(name)) throw invalid(`${scheme}: needs a name of 1–64 letters, digits, ".", "_" or "-", e.g. ${scheme}:phone; got "${name}"`);
  new Options(url.searchParams, `${scheme}:`, []);
  return { kind: 'feed', uri, live: true, scheme, name };
}
