import * as vscode from 'vscode';
import { Device_Kind } from '../proto/gen/sidestream/v1/streams';
import type { MediaClient } from './streams';
import type { WebrtcIngest } from './webrtcIngest';
import { validateStreamUrl } from './streamUrl';

interface SourcePick extends vscode.QuickPickItem {
  /** A URI to open, or a step that asks for one. */
  uri?: string;
  step?: 'file' | 'url' | 'camera' | 'microphone' | 'screen' | 'webrtc';
}

async function pickDevice(media: MediaClient, kind: Device_Kind, what: string): Promise<string | undefined> {
  const { devices, notes } = await media.listDevices();
  const matching = devices.filter((device) => device.kind === kind);
  if (matching.length === 0) {
    const note = notes.find((line) => line.toLowerCase().includes(what)) ?? `no ${what}s found`;
    void vscode.window.showWarningMessage(`Sidestream: ${note}`);
    return undefined;
  }
  const choice = await vscode.window.showQuickPick(
    matching.map((device) => ({ label: device.name, description: device.id, detail: device.formats.join(', ') || undefined, uri: device.uri })),
    { title: `Open ${what}`, placeHolder: `Choose a ${what}` },
  );
  return choice?.uri;
}

/** A connected WHIP publisher to open, or the endpoint and token to give one (its stream then opens when it connects). */
async function pickPublisher(ingest: WebrtcIngest): Promise<string | undefined> {
  const publishers = await ingest.publishers();
  const start = { label: '$(link) Show the WHIP URL and token…', description: 'publishers that connect appear in the Streams view', uri: undefined as string | undefined };
  const items = [...publishers.map((feed) => ({ label: `$(broadcast) ${feed.uri}`, description: [feed.videoCodec, feed.audioCodec].filter(Boolean).join(' + '), uri: feed.uri as string | undefined })), start];
  const picked = publishers.length === 0 ? start : await vscode.window.showQuickPick(items, { title: 'WebRTC Ingest', placeHolder: 'A connected publisher, or the endpoint for a new one' });
  if (!picked) return undefined;
  if (picked.uri) return picked.uri;
  await vscode.commands.executeCommand('sidestream.startWebrtcIngest');
  return undefined;
}

/** "Sidestream: Open Stream…": the source kinds, then what each needs. Resolves with a URI, or undefined when cancelled. */
export async function chooseSource(media: () => Promise<MediaClient>, recent: string[], ingest?: WebrtcIngest): Promise<string | undefined> {
  const items: SourcePick[] = [
    { label: '$(symbol-color) Test Pattern', description: '1280×720 at 30 fps, with a 440 Hz tone', uri: 'test:video?size=1280x720&rate=30&tone=440' },
    { label: '$(device-camera) Camera…', description: 'a camera of this machine', step: 'camera' },
    { label: '$(mic) Microphone…', description: 'an audio input of this machine', step: 'microphone' },
    { label: '$(screen-full) Screen…', description: 'a display of this machine', step: 'screen' },
    { label: '$(file-media) File…', description: 'any file ffmpeg reads', step: 'file' },
    { label: '$(globe) URL…', description: 'RTSP, RTMP, SRT, UDP, HLS, DASH, HTTP', step: 'url' },
  ];
  // WebRTC ingest, when the sidecar has it on: a browser, a phone or OBS publishing over WHIP.
  // (Asked with a short timeout: a sidecar that is not up must not hold the list back.)
  const whip = ingest ? await ingest.endpoint(1500).then(() => true, () => false) : false;
  if (whip) items.push({ label: '$(broadcast) WebRTC Ingest (WHIP)…', description: 'a browser tab, a phone or OBS publishing to the sidecar', step: 'webrtc' });
  if (recent.length > 0) {
    items.push({ label: 'Recent', kind: vscode.QuickPickItemKind.Separator });
    for (const uri of recent) items.push({ label: `$(history) ${uri}`, uri });
  }
  const picked = await vscode.window.showQuickPick(items, { title: 'Sidestream: Open Stream', placeHolder: 'What to open', matchOnDescription: true });
  if (!picked) return undefined;
  if (picked.uri) return picked.uri;
  switch (picked.step) {
    case 'camera':
      return pickDevice(await media(), Device_Kind.KIND_CAMERA, 'camera');
    case 'microphone':
      return pickDevice(await media(), Device_Kind.KIND_MICROPHONE, 'microphone');
    case 'screen':
      return pickDevice(await media(), Device_Kind.KIND_SCREEN, 'screen');
    case 'file': {
      const files = await vscode.window.showOpenDialog({
        title: 'Open a media file as a stream',
        canSelectMany: false,
        filters: { Media: ['mp4', 'mkv', 'webm', 'mov', 'avi', 'ts', 'flv', 'mp3', 'wav', 'flac', 'ogg', 'opus', 'm4a', 'aac'], 'All files': ['*'] },
      });
      return files?.[0] ? `${files[0].toString()}?loop=1&realtime=1` : undefined;
    }
    case 'webrtc':
      return pickPublisher(ingest!);
    case 'url':
      return vscode.window.showInputBox({ title: 'Open a network stream', prompt: 'rtsp://, rtmp://, srt://, udp://, http(s):// (HLS, DASH, media files)', placeHolder: 'rtsp://camera.local/stream', validateInput: validateStreamUrl, ignoreFocusOut: true }).then((value) => value?.trim());
    default:
      return undefined;
  }
}
