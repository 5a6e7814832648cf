import { readdir, readFile } from 'node:fs/promises';
import { type Device, Device_Kind, type ListDevicesResponse } from '../../proto/gen/sidestream/v1/streams';
import { captureOutput } from '../processes';
import type { Platform } from './types';

/**
 * Capture devices of this machine: cameras, screens and microphones, found the way
 * ffmpeg will open them (v4l2 + X11 + PulseAudio on Linux, avfoundation on macOS,
 * dshow on Windows). A kind that cannot be listed gets a note that says why, never an error.
 */
export interface DeviceTools {
  ffmpeg: string;
  env: NodeJS.ProcessEnv;
}

const camera = (id: string, name: string, formats: string[] = []): Device => ({
  kind: Device_Kind.KIND_CAMERA,
  id,
  name,
  uri: `camera:${encodeURI(id)}`,
  formats,
});

const screen = (id: string, name: string, formats: string[] = []): Device => ({
  kind: Device_Kind.KIND_SCREEN,
  id,
  name,
  uri: `screen:${encodeURI(id)}`,
  formats,
});

const microphone = (id: string, name: string): Device => ({
  kind: Device_Kind.KIND_MICROPHONE,
  id,
  name,
  uri: `mic:${encodeURI(id)}`,
  formats: [],
});

/**
 * `ffmpeg -sources pulse` → microphones (and the monitors of outputs, which record what
 * plays there), the default one first:
 *   * vsink.monitor [Monitor of Null Output] (none)
 *     alsa_input.usb-0d8c_USB_Audio-00.mono-fallback [USB Audio Mono] (none)
 */
export function parsePulseSources(stdout: string): Device[] {
  const devices: Device[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^\s*(\*)?\s*(\S+) \[(.*)\]/.exec(line);
    if (!match) continue;
    const device = microphone(match[2]!, match[3]!);
    if (match[1]) devices.unshift(device);
    else devices.push(device);
  }
  return devices;
}

async function linuxMicrophones(tools: DeviceTools): Promise<{ devices: Device[]; notes: string[] }> {
  if (!tools.ffmpeg) return { devices: [], notes: ['no microphones: ffmpeg was not found'] };
  const run = await captureOutput(tools.ffmpeg, ['-hide_banner', '-sources', 'pulse'], 3000);
  const devices = parsePulseSources(run.stdout);
  if (devices.length > 0) return { devices, notes: [] };
  return { devices, notes: ['no microphones: no PulseAudio (or PipeWire-Pulse) server answered, or it has no sources'] };
}

/** `ffmpeg -f v4l2 -list_formats all` lines → "mjpeg 1280x720 640x480". */
export function parseV4l2Formats(stderr: string): string[] {
  const formats: string[] = [];
  for (const line of stderr.split('\n')) {
    // "Raw : yuyv422 : YUYV 4:2:2 : 640x480 320x240": the sizes follow the last " : ".
    const match = /(?:Compressed|Raw)\s*:\s*(\S+)\s*:.*\s:\s*((?:\d+x\d+\s*)+)$/.exec(line);
    if (match) formats.push(`${match[1]} ${match[2]!.trim()}`);
  }
  return formats;
}

async function linuxCameras(tools: DeviceTools): Promise<{ devices: Device[]; notes: string[] }> {
  let names: string[];
  try {
    names = (await readdir('/dev')).filter((name) => /^video\d+$/.test(name)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  } catch (error) {
    return { devices: [], notes: [`no cameras: cannot read /dev (${(error as Error).message})`] };
  }
  if (names.length === 0) return { devices: [], notes: ['no cameras: /dev has no video devices (no v4l2 camera is connected or its driver is not loaded)'] };
  const devices = await Promise.all(
    names.map(async (name) => {
      const label = (await readFile(`/sys/class/video4linux/${name}/name`, 'utf8').catch(() => name)).trim();
      const formats = tools.ffmpeg
        ? parseV4l2Formats((await captureOutput(tools.ffmpeg, ['-hide_banner', '-f', 'v4l2', '-list_formats', 'all', '-i', `/dev/${name}`], 3000)).stderr)
        : [];
      return camera(`/dev/${name}`, label, formats);
    }),
  );
  // Nodes with no capture format are metadata nodes of a camera, not cameras.
  return { devices: devices.filter((device) => device.formats.length > 0 || !tools.ffmpeg), notes: [] };
}

async function linuxScreens(tools: DeviceTools): Promise<{ devices: Device[]; notes: string[] }> {
  const displays = new Set<string>();
  for (const name of await readdir('/tmp/.X11-unix').catch(() => [] as string[])) {
    const match = /^X(\d+)$/.exec(name);
    if (match) displays.add(`:${match[1]}`);
  }
  const current = tools.env.DISPLAY;
  if (current && /^:\d+/.test(current)) displays.add(current.replace(/\.\d+$/, ''));
  if (displays.size === 0) return { devices: [], notes: ['no screens: no X display is running (DISPLAY is not set and /tmp/.X11-unix is empty)'] };
  const devices: Device[] = [];
  for (const display of [...displays].sort()) {
    // ffprobe would do, but x11grab answers faster through ffmpeg with one frame to null.
    const run = tools.ffmpeg
      ? await captureOutput(tools.ffmpeg, ['-hide_banner', '-f', 'x11grab', '-i', display, '-frames:v', '1', '-f', 'null', '-'], 3000)
      : undefined;
    const size = run ? /Video: rawvideo[^,]*, \w+, (\d+x\d+)/.exec(run.stderr)?.[1] : undefined;
    if (run && run.code !== 0) continue; // a stale socket, or a display we may not open
    devices.push(screen(display, `X display ${display}${size ? ` (${size})` : ''}`, size ? [size] : []));
  }
  return { devices, notes: devices.length === 0 ? ['no screens: no X display could be opened'] : [] };
}

/** `ffmpeg -f avfoundation -list_devices true -i ""` → cameras and screens. */
export function parseAvfoundationDevices(stderr: string): Device[] {
  const devices: Device[] = [];
  let section: 'video' | 'audio' | undefined;
  for (const line of stderr.split('\n')) {
    if (/AVFoundation video devices/.test(line)) section = 'video';
    else if (/AVFoundation audio devices/.test(line)) section = 'audio';
    const match = /\[(\d+)\] (.+)$/.exec(line);
    if (!match || !section) continue;
    const [, index, name] = match;
    if (section === 'audio') devices.push(microphone(index!, name!.trim()));
    else devices.push(/^Capture screen/.test(name!) ? screen(index!, name!.trim()) : camera(index!, name!.trim()));
  }
  return devices;
}

/** `ffmpeg -list_devices true -f dshow -i dummy` → cameras and microphones. */
export function parseDshowDevices(stderr: string): Device[] {
  const devices: Device[] = [];
  for (const line of stderr.split('\n')) {
    const match = /"(.+)" \((video|audio)\)/.exec(line);
    if (match) devices.push(match[2] === 'audio' ? microphone(match[1]!, match[1]!) : camera(match[1]!, match[1]!));
  }
  return devices;
}

export async function listDevices(platform: Platform, tools: DeviceTools): Promise<ListDevicesResponse> {
  if (platform === 'linux') {
    const found = await Promise.all([linuxCameras(tools), linuxScreens(tools), linuxMicrophones(tools)]);
    return { devices: found.flatMap((kind) => kind.devices), notes: found.flatMap((kind) => kind.notes) };
  }
  if (!tools.ffmpeg) return { devices: [], notes: ['no devices: ffmpeg was not found'] };
  if (platform === 'darwin') {
    const run = await captureOutput(tools.ffmpeg, ['-hide_banner', '-f', 'avfoundation', '-list_devices', 'true', '-i', ''], 5000);
    const devices = parseAvfoundationDevices(run.stderr);
    return { devices, notes: devices.length === 0 ? ['no cameras or screens: avfoundation listed none (check the camera and screen-recording permissions)'] : [] };
  }
  const run = await captureOutput(tools.ffmpeg, ['-hide_banner', '-list_devices', 'true', '-f', 'dshow', '-i', 'dummy'], 5000);
  const devices = [...parseDshowDevices(run.stderr), screen('desktop', 'Desktop')];
  const notes: string[] = [];
  if (!devices.some((d) => d.kind === Device_Kind.KIND_CAMERA)) notes.push('no cameras: DirectShow listed none');
  if (!devices.some((d) => d.kind === Device_Kind.KIND_MICROPHONE)) notes.push('no microphones: DirectShow listed none');
  return { devices, notes };
}
