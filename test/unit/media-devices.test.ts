// sidecar/media/devices.ts: what ffmpeg's device listings look like per platform. There
// is no camera on these machines and no macOS or Windows: the listings are samples of
// ffmpeg's real output.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Device_Kind } from '../../proto/gen/sidestream/v1/streams';
import { parseAvfoundationDevices, parseDshowDevices, parsePulseSources, parseV4l2Formats } from '../../sidecar/media/devices';
import { parseSourceUri } from '../../sidecar/media/uri';

test('v4l2 formats of a camera (sample listing; no camera here)', () => {
  const stderr = `[video4linux2,v4l2 @ 0x5603] Compressed:       mjpeg :          Motion-JPEG : 1280x720 640x480
[video4linux2,v4l2 @ 0x5603] Raw       :     yuyv422 :           YUYV 4:2:2 : 640x480 320x240
/dev/video0: Immediate exit requested`;
  assert.deepEqual(parseV4l2Formats(stderr), ['mjpeg 1280x720 640x480', 'yuyv422 640x480 320x240']);
});

test('avfoundation: cameras, screens and microphones by index (sample listing)', () => {
  const stderr = `[AVFoundation indev @ 0x7f8] AVFoundation video devices:
[AVFoundation indev @ 0x7f8] [0] FaceTime HD Camera
[AVFoundation indev @ 0x7f8] [1] Capture screen 0
[AVFoundation indev @ 0x7f8] AVFoundation audio devices:
[AVFoundation indev @ 0x7f8] [0] MacBook Pro Microphone`;
  const devices = parseAvfoundationDevices(stderr);
  assert.deepEqual(devices.map((d) => [d.kind, d.id, d.name, d.uri]), [
    [Device_Kind.KIND_CAMERA, '0', 'FaceTime HD Camera', 'camera:0'],
    [Device_Kind.KIND_SCREEN, '1', 'Capture screen 0', 'screen:1'],
    [Device_Kind.KIND_MICROPHONE, '0', 'MacBook Pro Microphone', 'mic:0'],
  ]);
});

test('dshow: cameras and microphones by name, URI-encoded (sample listing)', () => {
  const stderr = `[dshow @ 000001] "Integrated Camera" (video)
[dshow @ 000001]   Alternative name "@device_pnp_\\\\?\\usb#vid"
[dshow @ 000001] "Microphone Array (Realtek)" (audio)`;
  assert.deepEqual(parseDshowDevices(stderr).map((d) => [d.name, d.uri]), [
    ['Integrated Camera', 'camera:Integrated%20Camera'],
    ['Microphone Array (Realtek)', 'mic:Microphone%20Array%20(Realtek)'],
  ]);
  assert.equal((parseSourceUri('mic:Microphone%20Array%20(Realtek)', 'win32') as { device: string }).device, 'Microphone Array (Realtek)');
});

test('PulseAudio sources from ffmpeg -sources pulse, the default first (sample listing)', () => {
  const stdout = `Auto-detected sources for pulse:
  alsa_input.usb-0d8c_USB_Audio-00.mono-fallback [USB Audio Mono] (none)
* vsink.monitor [Monitor of Null Output] (none)
`;
  assert.deepEqual(parsePulseSources(stdout).map((d) => [d.kind, d.id, d.name, d.uri]), [
    [Device_Kind.KIND_MICROPHONE, 'vsink.monitor', 'Monitor of Null Output', 'mic:vsink.monitor'],
    [Device_Kind.KIND_MICROPHONE, 'alsa_input.usb-0d8c_USB_Audio-00.mono-fallback', 'USB Audio Mono', 'mic:alsa_input.usb-0d8c_USB_Audio-00.mono-fallback'],
  ]);
  assert.deepEqual(parsePulseSources('Auto-detected sources for pulse:\nCannot list sources: Generic error in an external library\n'), []);
});
