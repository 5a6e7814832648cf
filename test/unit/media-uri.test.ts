// sidecar/media/uri.ts: source URIs → source specs, and clear errors for bad ones.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSourceUri } from '../../sidecar/media/uri';
import { MediaError } from '../../sidecar/media/types';

const invalid = (pattern: RegExp) => (error: unknown) => error instanceof MediaError && error.code === 'invalid-argument' && pattern.test(error.message);

describe('test: sources', () => {
  test('defaults: 1280x720 at 30 fps, testsrc2, endless, live', () => {
    for (const uri of ['test:', 'test:video']) {
      assert.deepEqual(parseSourceUri(uri, 'linux'), { kind: 'test', uri, live: true, video: true, width: 1280, height: 720, rate: 30, pattern: 'testsrc2' });
    }
  });

  test('size, rate, pattern, duration and a colour', () => {
    const spec = parseSourceUri('test:video?size=640x360&rate=15&pattern=color:red&duration=2.5', 'linux');
    assert.deepEqual(spec, { kind: 'test', uri: 'test:video?size=640x360&rate=15&pattern=color:red&duration=2.5', live: true, video: true, width: 640, height: 360, rate: 15, pattern: 'color', color: 'red', durationSeconds: 2.5 });
  });

  test('unknown options, patterns and bad values name what to fix', () => {
    assert.throws(() => parseSourceUri('test:video?sise=640x360', 'linux'), invalid(/unknown option "sise".*known options: size, rate, pattern, duration/));
    assert.throws(() => parseSourceUri('test:video?pattern=plaid', 'linux'), invalid(/unknown test pattern "plaid"; known: testsrc2/));
    assert.throws(() => parseSourceUri('test:video?size=640', 'linux'), invalid(/WIDTHxHEIGHT/));
    assert.throws(() => parseSourceUri('test:video?rate=0', 'linux'), invalid(/rate=0 must be a number from 1 to 240/));
    assert.throws(() => parseSourceUri('test:audio', 'linux'), invalid(/test:audio needs tone=HZ/));
    assert.throws(() => parseSourceUri('test:picture', 'linux'), invalid(/test:video or test:audio/));
    assert.throws(() => parseSourceUri('test:video?channels=1', 'linux'), invalid(/add tone=HZ/));
    assert.throws(() => parseSourceUri('test:video?pattern=color:re;d', 'linux'), invalid(/colour name/));
  });
});

describe('tones', () => {
  test('test:audio is a tone alone; test:video can carry one', () => {
    assert.deepEqual(parseSourceUri('test:audio?tone=440&sample_rate=44100&channels=1&duration=3', 'linux'), {
      kind: 'test', uri: 'test:audio?tone=440&sample_rate=44100&channels=1&duration=3', live: true, video: false, width: 0, height: 0, rate: 0, pattern: '', tone: { frequency: 440, sampleRate: 44100, channels: 1 }, durationSeconds: 3,
    });
    const av = parseSourceUri('test:video?size=320x240&tone=1000', 'linux') as { tone?: unknown; video: boolean };
    assert.deepEqual(av.tone, { frequency: 1000, sampleRate: 48000, channels: 2 });
    assert.equal(av.video, true);
    assert.throws(() => parseSourceUri('test:audio?tone=440&size=320x240', 'linux'), invalid(/unknown option "size" for test:audio/));
  });
});

describe('mic: sources (no sound card here: parsing only; PulseAudio capture is tested in integration)', () => {
  test('defaults per platform, options, PulseAudio names', () => {
    assert.deepEqual(parseSourceUri('mic:', 'linux'), { kind: 'mic', uri: 'mic:', live: true, device: 'default' });
    assert.deepEqual(parseSourceUri('mic:vsink.monitor?sample_rate=16000&channels=1', 'linux'), { kind: 'mic', uri: 'mic:vsink.monitor?sample_rate=16000&channels=1', live: true, device: 'vsink.monitor', sampleRate: 16000, channels: 1 });
    assert.equal((parseSourceUri('mic:', 'darwin') as { device: string }).device, '0');
    assert.throws(() => parseSourceUri('mic:', 'win32'), invalid(/needs a device name on Windows/));
    assert.throws(() => parseSourceUri('mic:a b', 'linux'), invalid(/not a PulseAudio source name/));
    assert.throws(() => parseSourceUri('mic:default?channels=6', 'linux'), invalid(/channels=6/));
  });
});

describe('file: sources', () => {
  test('file URLs and plain absolute paths, percent-decoded', () => {
    assert.deepEqual(parseSourceUri('file:///tmp/my%20clip.mp4?loop=1&realtime=1', 'linux'), {
      kind: 'file', uri: 'file:///tmp/my%20clip.mp4?loop=1&realtime=1', live: false, path: '/tmp/my clip.mp4', loop: true, realtime: true,
    });
    assert.deepEqual(parseSourceUri('/tmp/clip.webm', 'linux'), { kind: 'file', uri: '/tmp/clip.webm', live: false, path: '/tmp/clip.webm', loop: false, realtime: false });
  });

  test('a remote host, a bad flag and a relative path are refused', () => {
    assert.throws(() => parseSourceUri('file://server/share/a.mp4', 'linux'), invalid(/file on this machine/));
    assert.throws(() => parseSourceUri('file:///a.mp4?loop=maybe', 'linux'), invalid(/loop=maybe must be 1 or 0/));
    assert.throws(() => parseSourceUri('clip.mp4', 'linux'), invalid(/not a source URI/));
  });
});

describe('camera: and screen: sources (there is no camera on these machines: parsing only)', () => {
  test('camera defaults per platform, options, and Linux device names', () => {
    assert.deepEqual(parseSourceUri('camera:', 'linux'), { kind: 'camera', uri: 'camera:', live: true, device: '/dev/video0' });
    assert.deepEqual(parseSourceUri('camera:/dev/video2?size=640x480&rate=15&pixel_format=mjpeg', 'linux'), {
      kind: 'camera', uri: 'camera:/dev/video2?size=640x480&rate=15&pixel_format=mjpeg', live: true, device: '/dev/video2', width: 640, height: 480, rate: 15, pixelFormat: 'mjpeg',
    });
    assert.equal((parseSourceUri('camera:', 'darwin') as { device: string }).device, '0');
    assert.equal((parseSourceUri('camera:Integrated%20Camera', 'win32') as { device: string }).device, 'Integrated Camera');
    assert.throws(() => parseSourceUri('camera:', 'win32'), invalid(/needs a device name on Windows/));
    assert.throws(() => parseSourceUri('camera:/etc/passwd', 'linux'), invalid(/must be \/dev\/videoN/));
  });

  test('screen displays, regions, cursor', () => {
    assert.deepEqual(parseSourceUri('screen::99?region=10,20,640,360&rate=15&cursor=0', 'linux'), {
      kind: 'screen', uri: 'screen::99?region=10,20,640,360&rate=15&cursor=0', live: true, display: ':99', region: { x: 10, y: 20, width: 640, height: 360 }, rate: 15, cursor: false,
    });
    assert.equal((parseSourceUri('screen:', 'win32') as { display: string }).display, 'desktop');
    assert.throws(() => parseSourceUri('screen::0?region=1,2,3', 'linux'), invalid(/X,Y,WIDTH,HEIGHT/));
    assert.throws(() => parseSourceUri('screen:nodisplay', 'linux'), invalid(/X display such as :0/));
  });
});

describe('network sources', () => {
  test('our options travel in the fragment; the query is the server\'s', () => {
    assert.deepEqual(parseSourceUri('rtsp://cam.local:8554/live?token=abc#transport=udp', 'linux'), {
      kind: 'network', uri: 'rtsp://cam.local:8554/live?token=abc#transport=udp', live: true, protocol: 'rtsp', url: 'rtsp://cam.local:8554/live?token=abc', transport: 'udp',
    });
    const hls = parseSourceUri('https://example.com/live/index.m3u8?sig=1', 'linux');
    assert.equal((hls as { url: string }).url, 'https://example.com/live/index.m3u8?sig=1');
    assert.equal((hls as { transport: string }).transport, 'tcp');
    for (const scheme of ['rtmp', 'rtmps', 'srt', 'http']) assert.equal(parseSourceUri(`${scheme}://h:1/x`, 'linux').kind, 'network');
  });

  test('bad transports, unknown options and unknown schemes are refused', () => {
    assert.throws(() => parseSourceUri('rtsp://h/x#transport=quic', 'linux'), invalid(/transport=quic must be tcp or udp/));
    assert.throws(() => parseSourceUri('http://h/x#transport=udp', 'linux'), invalid(/unknown option "transport"/));
    assert.throws(() => parseSourceUri('gopher://h/x', 'linux'), invalid(/unknown source scheme "gopher:"/));
    assert.throws(() => parseSourceUri('', 'linux'), invalid(/empty/));
    assert.throws(() => parseSourceUri('file:///a\0b', 'linux'), invalid(/NUL/));
  });
});

describe('feed sources (media the sidecar receives itself)', () => {
  test('whip:NAME names a publisher; a bad name is refused', () => {
    assert.deepEqual(parseSourceUri('whip:phone-1', 'linux'), { kind: 'feed', uri: 'whip:phone-1', live: true, scheme: 'whip', name: 'phone-1' });
    assert.throws(() => parseSourceUri('whip:', 'linux'), invalid(/whip: needs a name/));
    assert.throws(() => parseSourceUri('whip:a/b', 'linux'), invalid(/whip: needs a name/));
    assert.throws(() => parseSourceUri('whip:cam?x=1', 'linux'), invalid(/unknown option "x"/));
  });
});
