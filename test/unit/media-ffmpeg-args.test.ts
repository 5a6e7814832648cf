// sidecar/media/ffmpegArgs.ts: ffmpeg argument arrays per source and platform, output
// sizes and frame sizes. There is no camera on these machines: camera paths are
// checked here as arguments, and as a clear no-device error in the integration tests.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildDecodeArgs, frameByteLength, resolveOutputSize } from '../../sidecar/media/ffmpegArgs';
import { cameraArgs, inputArgs, openArgs, screenArgs } from '../../sidecar/media/sourceArgs';
import type { SourceSpec } from '../../sidecar/media/types';
import { parseSourceUri } from '../../sidecar/media/uri';

const camera = (uri: string, platform: 'linux' | 'darwin' | 'win32') => parseSourceUri(uri, platform) as Extract<SourceSpec, { kind: 'camera' }>;
const screen = (uri: string, platform: 'linux' | 'darwin' | 'win32') => parseSourceUri(uri, platform) as Extract<SourceSpec, { kind: 'screen' }>;

describe('frame sizes', () => {
  test('bytes per raw frame, I420 with odd sizes rounded up per chroma plane', () => {
    assert.equal(frameByteLength('rgb24', 1920, 1080), 6_220_800);
    assert.equal(frameByteLength('rgba', 640, 360), 921_600);
    assert.equal(frameByteLength('gray', 640, 360), 230_400);
    assert.equal(frameByteLength('i420', 640, 360), 345_600);
    assert.equal(frameByteLength('i420', 5, 3), 15 + 2 * 3 * 2);
    assert.equal(frameByteLength('jpeg', 640, 360), 0);
  });

  test('output size: source size, aspect-kept side, even for 4:2:0', () => {
    const source = { width: 1920, height: 1080 };
    assert.deepEqual(resolveOutputSize({ format: 'rgb24', width: 0, height: 0 }, source), source);
    assert.deepEqual(resolveOutputSize({ format: 'rgb24', width: 640, height: 0 }, source), { width: 640, height: 360 });
    assert.deepEqual(resolveOutputSize({ format: 'rgb24', width: 0, height: 101 }, source), { width: 180, height: 101 });
    assert.deepEqual(resolveOutputSize({ format: 'jpeg', width: 0, height: 101 }, source), { width: 180, height: 100 });
    assert.deepEqual(resolveOutputSize({ format: 'i420', width: 333, height: 187 }, source), { width: 332, height: 186 });
  });
});

describe('camera arguments per platform', () => {
  test('Linux: v4l2 with input format, size and rate', () => {
    assert.deepEqual(cameraArgs(camera('camera:/dev/video1?size=1280x720&rate=30&pixel_format=mjpeg', 'linux'), 'linux'), [
      '-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', '1280x720', '-framerate', '30', '-i', '/dev/video1',
    ]);
  });

  test('macOS: avfoundation video device without audio', () => {
    assert.deepEqual(cameraArgs(camera('camera:0?rate=30', 'darwin'), 'darwin'), ['-f', 'avfoundation', '-framerate', '30', '-i', '0:none']);
  });

  test('Windows: dshow by device name', () => {
    assert.deepEqual(cameraArgs(camera('camera:USB%20Camera?size=640x480', 'win32'), 'win32'), ['-f', 'dshow', '-video_size', '640x480', '-i', 'video=USB Camera']);
  });

  test('a camera decodes with slice threads and keeps its capture timestamps', () => {
    const args = inputArgs(camera('camera:/dev/video0', 'linux'), { platform: 'linux', hwaccel: 'auto' });
    assert.deepEqual(args.slice(0, 6), ['-hwaccel', 'auto', '-copyts', '-thread_type', 'slice', '-f']);
  });
});

describe('screen arguments per platform', () => {
  test('Linux: x11grab of a region with the cursor', () => {
    assert.deepEqual(screenArgs(screen('screen::99.0?region=10,20,640,360&rate=15', 'linux'), 'linux'), [
      '-f', 'x11grab', '-framerate', '15', '-draw_mouse', '1', '-video_size', '640x360', '-i', ':99.0+10,20',
    ]);
  });

  test('Windows: gdigrab with offsets', () => {
    assert.deepEqual(screenArgs(screen('screen:desktop?region=5,6,100,50&cursor=0', 'win32'), 'win32'), [
      '-f', 'gdigrab', '-framerate', '30', '-draw_mouse', '0', '-offset_x', '5', '-offset_y', '6', '-video_size', '100x50', '-i', 'desktop',
    ]);
  });

  test('macOS: avfoundation whole screen, the region cropped in the filter graph', () => {
    const spec = screen('screen:1?region=0,0,800,600', 'darwin');
    assert.deepEqual(screenArgs(spec, 'darwin'), ['-f', 'avfoundation', '-framerate', '30', '-capture_cursor', '1', '-i', '1:none']);
    const args = buildDecodeArgs(spec, [{ format: 'rgb24', width: 800, height: 600, jpegQuality: 5 }], { width: 800, height: 600 }, { platform: 'darwin', hwaccel: 'auto' });
    assert.match(args[args.indexOf('-filter_complex') + 1]!, /^\[0:v:0\]crop=800:600:0:0,format=rgb24/);
  });
});

describe('network and file inputs', () => {
  test('RTSP over TCP by default with a socket timeout; the fragment is not sent', () => {
    assert.deepEqual(openArgs(parseSourceUri('rtsp://127.0.0.1:8554/cam#transport=tcp', 'linux'), 'linux'), [
      '-rtsp_transport', 'tcp', '-timeout', '10000000', '-analyzeduration', '1000000', '-i', 'rtsp://127.0.0.1:8554/cam',
    ]);
  });

  test('files: hardware decoder choice, real timestamps, pacing, looping and a resume point', () => {
    const spec = parseSourceUri('file:///media/a.mp4?loop=1&realtime=1', 'linux');
    assert.deepEqual(inputArgs(spec, { platform: 'linux', hwaccel: 'vaapi', startAtSeconds: 1.5 }), [
      '-hwaccel', 'vaapi', '-copyts', '-re', '-stream_loop', '-1', '-ss', '1.500000', '-i', '/media/a.mp4',
    ]);
    assert.deepEqual(inputArgs(spec, { platform: 'linux', hwaccel: 'none' }).slice(0, 2), ['-copyts', '-re']);
  });

  test('synthetic sources need no decoder, are paced by the realtime filter and stamped with the wall clock', () => {
    const args = inputArgs(parseSourceUri('test:video?size=320x240&rate=10&duration=3', 'linux'), { platform: 'linux', hwaccel: 'auto' });
    assert.ok(!args.includes('-hwaccel'));
    assert.equal(args.at(-1), 'testsrc2=size=320x240:rate=10:duration=3,realtime,settb=AVTB,setpts=RTCTIME');
  });
});

describe('the decode command', () => {
  const spec = parseSourceUri('file:///media/a.mp4', 'linux');
  const source = { width: 1920, height: 1080 };

  test('one output: no split; raw frames to fd 3 with showinfo for timestamps', () => {
    const args = buildDecodeArgs(spec, [{ format: 'rgb24', width: 1920, height: 1080, jpegQuality: 5 }], source, { platform: 'linux', hwaccel: 'none' });
    assert.equal(args[args.indexOf('-filter_complex') + 1], '[0:v:0]format=rgb24,showinfo@o0=checksum=0[o0]');
    assert.deepEqual(args.slice(args.indexOf('-map')), ['-map', '[o0]', '-fps_mode', 'passthrough', '-flush_packets', '1', '-c:v', 'rawvideo', '-f', 'rawvideo', 'pipe:3']);
    assert.ok(!args.includes('-hwaccel'));
  });

  test('several outputs: one split, a chain and a pipe each; JPEG full range', () => {
    const args = buildDecodeArgs(
      spec,
      [
        { format: 'jpeg', width: 640, height: 360, jpegQuality: 7 },
        { format: 'i420', width: 1920, height: 1080, jpegQuality: 5 },
      ],
      source,
      { platform: 'linux', hwaccel: 'auto' },
    );
    assert.equal(
      args[args.indexOf('-filter_complex') + 1],
      '[0:v:0]split=2[s0][s1];[s0]scale=640:360:out_range=full:flags=bilinear,format=yuv420p,showinfo@o0=checksum=0[o0];[s1]format=yuv420p,showinfo@o1=checksum=0[o1]',
    );
    const jpeg = args.slice(args.indexOf('[o0]') - 1, args.indexOf('pipe:3') + 1);
    assert.deepEqual(jpeg, ['-map', '[o0]', '-fps_mode', 'passthrough', '-flush_packets', '1', '-c:v', 'mjpeg', '-q:v', '7', '-strict', 'unofficial', '-color_range', 'pc', '-f', 'image2pipe', 'pipe:3']);
    assert.equal(args.at(-1), 'pipe:4');
    assert.throws(() => buildDecodeArgs(spec, [], source, { platform: 'linux', hwaccel: 'auto' }), /at least one output/);
  });

  test('JPEG is encoded with slice threads when frames come at their own pace, with frame threads when a file is read at full speed', () => {
    const jpeg = [{ format: 'jpeg' as const, width: 640, height: 360, jpegQuality: 5 }];
    const encoderThreads = (uri: string) => {
      const args = buildDecodeArgs(parseSourceUri(uri, 'linux'), jpeg, source, { platform: 'linux', hwaccel: 'none' });
      const encoder = args.slice(args.indexOf('mjpeg'));
      return encoder.includes('-thread_type') ? encoder[encoder.indexOf('-thread_type') + 1] : 'ffmpeg default (frame)';
    };
    assert.equal(encoderThreads('file:///media/a.mp4'), 'ffmpeg default (frame)');
    assert.equal(encoderThreads('file:///media/a.mp4?realtime=1'), 'slice');
    assert.equal(encoderThreads('test:video?size=1280x720&rate=30'), 'slice');
    assert.equal(encoderThreads('rtsp://127.0.0.1:8554/cam'), 'slice');
  });
});
