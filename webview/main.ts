// The stream panel in the webview: a grid of live tiles (JPEG frames read from the
// sidecar's preview endpoint, at most two decoding or waiting to be drawn per tile with
// the newest winning, decoded with createImageBitmap and drawn in
// requestAnimationFrame), an overlay per tile, per-tile controls, and analytics plots
// of the last 60 s. Every message in and out is checked against webview/protocol.ts.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { type PreviewRecord, previewUrl } from '../proto/codec/previewStream';
import { FramePump } from './framePump';
import { TimePlot } from './plot';
import { PreviewReader } from './previewReader';
import {
  type BufferPolicyChoice,
  type GridLayout,
  gridLayouts,
  layoutFor,
  parseHostMessage,
  parsePanelState,
  type PaintedFrame,
  type PanelState,
  type RecordingInfo,
  type TileInfo,
  type TileStats,
  type WebviewMessage,
} from './protocol';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: PanelState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const grid = document.getElementById('grid')!;
const analytics = document.getElementById('analytics')!;
const empty = document.getElementById('empty')!;
const summary = document.getElementById('summary')!;
const layoutSelect = document.getElementById('layout') as HTMLElement & { value: string };
const showAnalytics = document.getElementById('show-analytics') as HTMLElement & { checked: boolean };

let chosenLayout: GridLayout | 'auto' = parsePanelState(vscode.getState())?.layout ?? 'auto';

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text) node.textContent = text;
  return node;
}

function button(label: string, aria: string, onClick: () => void): HTMLElement {
  const node = document.createElement('vscode-button');
  node.setAttribute('secondary', '');
  node.setAttribute('aria-label', aria);
  node.setAttribute('title', aria);
  node.textContent = label;
  node.addEventListener('click', onClick);
  return node;
}

function select(aria: string, options: Array<[string, string]>, value: string, onChange: (value: string) => void): HTMLElement {
  const node = document.createElement('vscode-single-select') as HTMLElement & { value: string };
  node.setAttribute('aria-label', aria);
  node.setAttribute('title', aria);
  for (const [optionValue, label] of options) {
    const option = document.createElement('vscode-option');
    option.setAttribute('value', optionValue);
    if (optionValue === value) option.setAttribute('selected', '');
    option.textContent = label;
    node.append(option);
  }
  node.addEventListener('change', () => onChange(node.value));
  return node;
}

const formatRate = (bits: number) => (bits >= 1e6 ? `${(bits / 1e6).toFixed(1)} Mb/s` : `${Math.round(bits / 1e3)} kb/s`);

class Tile {
  readonly root = element('section', 'tile');
  readonly canvas = element('canvas', 'picture');
  private readonly context = this.canvas.getContext('2d')!;
  private readonly badge = element('span', 'badge', 'starting');
  private readonly overlay = element('div', 'overlay');
  private readonly meters = element('div', 'meters');
  private readonly recordButton: HTMLElement;
  private readonly recordState = element('span', 'record-state');
  private readonly pauseButton: HTMLElement;
  private pending: { bitmap: ImageBitmap; sequence: number; capturedAtMs: number } | undefined;
  /** Frames decoding or decoded and not drawn yet: two at most; a newer frame replaces one waiting for room. */
  private readonly pump = new FramePump<PreviewRecord>((record) => void this.decode(record));
  private reader: PreviewReader | undefined;
  private drawScheduled = false;
  private paused = false;
  private recording: RecordingInfo | undefined;
  private recordTimer: number | undefined;
  private policy: BufferPolicyChoice = 'latest_only';
  private maxFps = 0;
  /** Preview width asked for; 0 fits the tile. */
  private width = 0;
  readonly plot: TimePlot;
  readonly plotRoot = element('figure', 'plot');
  painted = 0;
  lastSequence = -1;
  /** Capture → paint of the last frames painted, for diagnostics (bounded). */
  readonly latencies: number[] = [];

  constructor(readonly info: TileInfo) {
    this.root.setAttribute('aria-label', info.name);
    this.root.dataset.streamId = info.streamId;
    const header = element('header', 'tile-header');
    header.append(element('span', 'name', info.name), this.badge);
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', `Live preview of ${info.name}`);
    const stage = element('div', 'stage');
    stage.append(this.canvas, this.overlay, this.meters);
    this.pauseButton = button('Pause', `Pause the preview of ${info.name}`, () => this.togglePause());
    this.recordButton = button('Record', `Record ${info.name}`, () => this.toggleRecording());
    const controls = element('div', 'controls');
    controls.append(
      this.pauseButton,
      button('Snapshot', `Save a PNG snapshot of ${info.name}`, () => post({ type: 'action', streamId: info.streamId, action: 'snapshot' })),
      this.recordButton,
      this.recordState,
      select('Buffering policy', [['latest_only', 'Latest only'], ['drop_oldest', 'Drop oldest'], ['adaptive', 'Adaptive']], this.policy, (value) => {
        this.policy = value as BufferPolicyChoice;
        this.sendOptions();
      }),
      select('Maximum frame rate', [['0', 'All fps'], ['30', '30 fps'], ['15', '15 fps'], ['5', '5 fps']], '0', (value) => {
        this.maxFps = Number(value);
        this.sendOptions();
      }),
      select('Preview size', [['0', 'Fit tile'], ['320', '320 wide'], ['640', '640 wide'], ['1280', '1280 wide']], '0', (value) => {
        this.width = Number(value);
        this.sendOptions();
      }),
      button('Close', `Close ${info.name}`, () => post({ type: 'action', streamId: info.streamId, action: 'close' })),
    );
    this.root.append(header, stage, controls);
    const plotCanvas = element('canvas', 'plot-canvas');
    plotCanvas.setAttribute('role', 'img');
    plotCanvas.setAttribute('aria-label', `fps and latency of ${info.name} over the last 60 seconds`);
    this.plotRoot.append(element('figcaption', '', `${info.name}: fps in, fps painted, latency p50/p95 (ms)`), plotCanvas);
    this.plot = new TimePlot(plotCanvas, [
      { label: 'fps in', colorVariable: '--vscode-charts-blue', unit: 'fps' },
      { label: 'fps painted', colorVariable: '--vscode-charts-green', unit: 'fps' },
      { label: 'latency p50', colorVariable: '--vscode-charts-yellow', unit: 'ms' },
      { label: 'latency p95', colorVariable: '--vscode-charts-red', unit: 'ms' },
    ]);
  }

  private sendOptions(): void {
    post({ type: 'options', streamId: this.info.streamId, policy: this.policy, maxFps: this.maxFps, width: this.width });
  }

  private togglePause(): void {
    this.paused = !this.paused;
    this.pauseButton.textContent = this.paused ? 'Resume' : 'Pause';
    this.pauseButton.setAttribute('aria-label', `${this.paused ? 'Resume' : 'Pause'} the preview of ${this.info.name}`);
    post({ type: 'action', streamId: this.info.streamId, action: this.paused ? 'pause' : 'resume' });
  }

  private toggleRecording(): void {
    post({ type: 'action', streamId: this.info.streamId, action: this.recording?.state === 'recording' ? 'stopRecording' : 'record' });
  }

  /** Reads `url` (nothing when empty); the same URL and token again keep the reading going. */
  read(url: string, token: string): void {
    if (this.reader?.url === url && this.reader.token === token) return;
    this.reader?.stop();
    this.reader = undefined;
    this.pump.reset();
    if (!url) return;
    this.reader = new PreviewReader(
      url,
      token,
      (record) => {
        const replaced = this.pump.replaced;
        this.pump.offer(record);
        if (this.pump.replaced > replaced) acknowledge({ streamId: this.info.streamId, sequence: record.sequence, latencyMs: -1 });
      },
      (problem) => post({ type: 'error', message: `preview of ${this.info.streamId}: ${problem}` }),
    );
  }

  /** The frame `sequence` was drawn (latency ≥ 0) or will not be (latency < 0): room for the next. */
  private finished(sequence: number, latencyMs: number): void {
    this.pump.painted(sequence);
    acknowledge({ streamId: this.info.streamId, sequence, latencyMs });
  }

  private async decode(record: PreviewRecord): Promise<void> {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(new Blob([record.data as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
    } catch (error) {
      this.finished(record.sequence, -1);
      post({ type: 'error', message: `frame ${record.sequence} of ${this.info.streamId} did not decode: ${(error as Error).message}` });
      return;
    }
    if (this.pending) {
      // A newer frame was decoded before the last was drawn: the older one is not painted.
      this.pending.bitmap.close();
      this.finished(this.pending.sequence, -1);
    }
    this.pending = { bitmap, sequence: record.sequence, capturedAtMs: record.capturedAtMs };
    if (!this.drawScheduled) {
      this.drawScheduled = true;
      requestAnimationFrame(() => this.draw());
    }
  }

  private draw(): void {
    this.drawScheduled = false;
    const frame = this.pending;
    if (!frame) return;
    this.pending = undefined;
    if (this.canvas.width !== frame.bitmap.width || this.canvas.height !== frame.bitmap.height) {
      this.canvas.width = frame.bitmap.width;
      this.canvas.height = frame.bitmap.height;
    }
    this.context.drawImage(frame.bitmap, 0, 0);
    frame.bitmap.close();
    this.painted++;
    this.lastSequence = frame.sequence;
    const latencyMs = Date.now() - frame.capturedAtMs;
    this.latencies.push(latencyMs);
    if (this.latencies.length > 8192) this.latencies.splice(0, 4096);
    this.finished(frame.sequence, latencyMs);
  }

  stats(stats: TileStats): void {
    this.badge.textContent = stats.state;
    this.badge.dataset.state = stats.state;
    this.root.dataset.state = stats.state;
    this.badge.title = stats.reason || stats.state;
    const lines = [
      stats.width ? `${stats.width}×${stats.height}` : '',
      `${stats.inputFps.toFixed(0)} fps in · ${stats.paintedFps.toFixed(0)} painted`,
      `latency ${stats.latencyP50Ms.toFixed(0)} / ${stats.latencyP95Ms.toFixed(0)} ms`,
      stats.bitRate ? formatRate(stats.bitRate) : '',
      stats.drops ? `${stats.drops} dropped` : '',
      stats.state === 'failed' || stats.state === 'reconnecting' ? stats.reason : '',
    ].filter(Boolean);
    this.overlay.textContent = lines.join('\n');
    this.meters.replaceChildren(
      ...stats.audioLevels.map((dbfs, channel) => {
        const meter = element('meter', 'level');
        meter.min = -60;
        meter.max = 0;
        meter.low = -18;
        meter.high = -6;
        meter.optimum = -30;
        meter.value = Math.max(-60, dbfs);
        meter.title = `channel ${channel + 1}: ${dbfs.toFixed(1)} dBFS`;
        meter.setAttribute('aria-label', `audio level of channel ${channel + 1}`);
        return meter;
      }),
    );
    this.plot.push([stats.inputFps, stats.paintedFps, stats.latencyP50Ms, stats.latencyP95Ms]);
  }

  setRecording(recording: RecordingInfo): void {
    this.recording = recording;
    window.clearInterval(this.recordTimer);
    this.recordState.replaceChildren();
    if (recording.state === 'recording') {
      this.recordButton.textContent = 'Stop';
      this.recordButton.setAttribute('aria-label', `Stop recording ${this.info.name}`);
      this.root.dataset.recording = 'true';
      const tick = () => {
        const seconds = Math.max(0, Math.round((Date.now() - recording.startedAtMs) / 1000));
        this.recordState.textContent = `● ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
      };
      tick();
      this.recordTimer = window.setInterval(tick, 1000);
      return;
    }
    this.recordButton.textContent = 'Record';
    this.recordButton.setAttribute('aria-label', `Record ${this.info.name}`);
    delete this.root.dataset.recording;
    if (recording.file) {
      const link = element('a', 'recording-link', recording.file.split(/[\\/]/).pop());
      link.href = '#';
      link.title = recording.file;
      link.addEventListener('click', (event) => {
        event.preventDefault();
        post({ type: 'openFile', path: recording.file });
      });
      this.recordState.append(recording.state === 'failed' ? `failed (${recording.reason}): ` : 'saved ', link);
    }
  }

  async snapshot(requestId: number): Promise<void> {
    const blob = await new Promise<Blob | null>((resolve) => this.canvas.toBlob(resolve, 'image/png'));
    if (!blob) return;
    post({ type: 'snapshotData', requestId, streamId: this.info.streamId, png: new Uint8Array(await blob.arrayBuffer()) });
  }

  dispose(): void {
    this.read('', '');
    window.clearInterval(this.recordTimer);
    this.pending?.bitmap.close();
    this.root.remove();
    this.plotRoot.remove();
  }
}

const tiles = new Map<string, Tile>();
/** Where the sidecar's previews are, once the extension said. */
let preview: { base: string; token: string } | undefined;
/** The preview query of each tile ('' for none), as the extension last said. */
const feeds = new Map<string, string>();

/** Points a tile at the preview the extension last named for it (none without one, or before the endpoint is known). */
function readFeed(streamId: string): void {
  const tile = tiles.get(streamId);
  if (!tile || !preview) return;
  const query = feeds.get(streamId) ?? '';
  tile.read(query ? previewUrl(preview.base, streamId, query) : '', preview.token);
}

/** A short description of a message that did not match the protocol: its fields and their types. */
function describe(data: unknown): string {
  if (typeof data !== 'object' || data === null) return typeof data;
  return Object.entries(data as Record<string, unknown>)
    .map(([key, value]) => `${key}: ${value === null ? 'null' : typeof value === 'object' ? (value as object).constructor?.name ?? 'object' : typeof value}`)
    .join(', ');
}

function post(message: WebviewMessage): void {
  vscode.postMessage(message);
}

let acknowledgements: PaintedFrame[] = [];

/** Frames drawn in the same animation frame are acknowledged in one message, right after it. */
function acknowledge(painted: PaintedFrame): void {
  if (acknowledgements.length === 0) {
    setTimeout(() => {
      const frames = acknowledgements;
      acknowledgements = [];
      post({ type: 'painted', frames });
    }, 0);
  }
  acknowledgements.push(painted);
}

function currentLayout(): GridLayout {
  return chosenLayout === 'auto' ? layoutFor(tiles.size) : chosenLayout;
}

function saveState(): void {
  vscode.setState({ layout: chosenLayout, tiles: [...tiles.values()].map((tile) => tile.info) });
}

function applyLayout(): void {
  grid.dataset.layout = currentLayout();
  empty.hidden = tiles.size > 0;
  summary.textContent = `${tiles.size} stream${tiles.size === 1 ? '' : 's'} · ${currentLayout()}`;
  saveState();
}

const sizeObserver = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const id = (entry.target as HTMLElement).dataset.streamId;
    if (id) post({ type: 'tileSize', streamId: id, width: Math.round(entry.contentRect.width * (window.devicePixelRatio || 1)), height: Math.round(entry.contentRect.height) });
  }
});

function setTiles(infos: TileInfo[]): void {
  const wanted = new Set(infos.map((info) => info.streamId));
  for (const [id, tile] of tiles) {
    if (wanted.has(id)) continue;
    sizeObserver.unobserve(tile.root);
    tile.dispose();
    tiles.delete(id);
    feeds.delete(id);
  }
  for (const info of infos) {
    if (tiles.has(info.streamId)) continue;
    const tile = new Tile(info);
    tiles.set(info.streamId, tile);
    readFeed(info.streamId);
    grid.append(tile.root);
    analytics.append(tile.plotRoot);
    sizeObserver.observe(tile.root);
  }
  applyLayout();
}

window.addEventListener('message', (event: MessageEvent) => {
  const message = parseHostMessage(event.data);
  if (!message) {
    const described = `dropped a malformed message from the extension: ${describe(event.data)}`;
    console.warn(`Sidestream panel: ${described}`);
    post({ type: 'error', message: described });
    return;
  }
  switch (message.type) {
    case 'tiles':
      setTiles(message.tiles);
      return;
    case 'preview':
      preview = { base: message.base, token: message.token };
      for (const id of feeds.keys()) readFeed(id);
      return;
    case 'feed':
      feeds.set(message.streamId, message.query);
      readFeed(message.streamId);
      return;
    case 'stats':
      tiles.get(message.stats.streamId)?.stats(message.stats);
      return;
    case 'recording':
      tiles.get(message.recording.streamId)?.setRecording(message.recording);
      return;
    case 'snapshot':
      void tiles.get(message.streamId)?.snapshot(message.requestId);
      return;
  }
});

layoutSelect.value = chosenLayout;
layoutSelect.addEventListener('change', () => {
  const value = layoutSelect.value;
  chosenLayout = value === 'auto' || (gridLayouts as readonly string[]).includes(value) ? (value as GridLayout | 'auto') : 'auto';
  applyLayout();
});
showAnalytics.addEventListener('change', () => {
  analytics.hidden = !showAnalytics.checked;
});
/** What the panel painted, per tile: for the preview benchmark and for anyone debugging in the webview's devtools. */
(globalThis as { sidestreamPanelDiagnostics?: unknown }).sidestreamPanelDiagnostics = () =>
  [...tiles.values()].map((tile) => ({ streamId: tile.info.streamId, painted: tile.painted, lastSequence: tile.lastSequence, latencies: [...tile.latencies] }));

applyLayout();
post({ type: 'ready' });
