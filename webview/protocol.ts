/**
 * Every message between the stream panel's webview and the extension host, typed here
 * once and checked on receipt on both sides: a message that does not match is dropped
 * (and reported), never half-used.
 */

export type GridLayout = '1' | '2x1' | '2x2' | '3x3';
export const gridLayouts: readonly GridLayout[] = ['1', '2x1', '2x2', '3x3'];
export const gridCapacity: Record<GridLayout, number> = { '1': 1, '2x1': 2, '2x2': 4, '3x3': 9 };

export type TileState = 'starting' | 'live' | 'stalled' | 'reconnecting' | 'ended' | 'failed' | 'idle';
const tileStates: readonly TileState[] = ['starting', 'live', 'stalled', 'reconnecting', 'ended', 'failed', 'idle'];

export type BufferPolicyChoice = 'latest_only' | 'drop_oldest' | 'adaptive';
const policies: readonly BufferPolicyChoice[] = ['latest_only', 'drop_oldest', 'adaptive'];

export interface TileInfo {
  streamId: string;
  name: string;
  uri: string;
}

export interface TileStats {
  streamId: string;
  state: TileState;
  reason: string;
  width: number;
  height: number;
  inputFps: number;
  /** Frames painted per second in the webview, as the extension saw them acknowledged. */
  paintedFps: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  bitRate: number;
  drops: number;
  /** dBFS per audio channel; empty without audio. */
  audioLevels: number[];
}

export interface RecordingInfo {
  streamId: string;
  state: 'recording' | 'stopped' | 'failed';
  startedAtMs: number;
  file: string;
  reason: string;
}

/** A frame the webview drew (latency ≥ 0: capture → paint) or skipped for a newer one (latency < 0). */
export interface PaintedFrame {
  streamId: string;
  sequence: number;
  latencyMs: number;
}

export type HostMessage =
  | { type: 'tiles'; tiles: TileInfo[] }
  /** Where the sidecar's previews are, as this window reaches them (`base` + "/preview/<id>?<query>"), and their bearer token. */
  | { type: 'preview'; base: string; token: string }
  /** The preview a tile reads (a query of the preview endpoint); '' for none (paused, hidden). */
  | { type: 'feed'; streamId: string; query: string }
  | { type: 'stats'; stats: TileStats }
  | { type: 'recording'; recording: RecordingInfo }
  | { type: 'snapshot'; requestId: number; streamId: string };

export type WebviewMessage =
  | { type: 'ready' }
  /** Acknowledgements of the frames painted in one animation frame, every tile together. */
  | { type: 'painted'; frames: PaintedFrame[] }
  | { type: 'tileSize'; streamId: string; width: number; height: number }
  | { type: 'action'; streamId: string; action: 'record' | 'stopRecording' | 'snapshot' | 'close' | 'pause' | 'resume' }
  | { type: 'openFile'; path: string }
  | { type: 'options'; streamId: string; policy: BufferPolicyChoice; maxFps: number; width: number }
  | { type: 'snapshotData'; requestId: number; streamId: string; png: Uint8Array }
  | { type: 'error'; message: string };

const actions = ['record', 'stopRecording', 'snapshot', 'close', 'pause', 'resume'] as const;

type Shape = Record<string, unknown>;
const isObject = (value: unknown): value is Shape => typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown, max = 4096): value is string => typeof value === 'string' && value.length <= max;
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isCount = (value: unknown, max: number): value is number => isNumber(value) && Number.isInteger(value) && value >= 0 && value <= max;
const isBytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array;
const oneOf = <T extends string>(value: unknown, options: readonly T[]): value is T => typeof value === 'string' && (options as readonly string[]).includes(value);
const isHttpUrl = (value: unknown): value is string => {
  if (!isString(value, 2048)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash && !url.username;
  } catch {
    return false;
  }
};
const isStreamId = (value: unknown): value is string => isString(value, 64) && /^[A-Za-z0-9._-]+$/.test(value);

/** The webview's message if it is one; undefined for anything else. */
export function parseWebviewMessage(message: unknown): WebviewMessage | undefined {
  if (!isObject(message)) return undefined;
  const m = message;
  switch (m.type) {
    case 'ready':
      return { type: 'ready' };
    case 'painted': {
      if (!Array.isArray(m.frames) || m.frames.length > 1024) return undefined;
      const frames = m.frames.map((f: unknown) =>
        isObject(f) && isStreamId(f.streamId) && isCount(f.sequence, Number.MAX_SAFE_INTEGER) && isNumber(f.latencyMs)
          ? { streamId: f.streamId, sequence: f.sequence, latencyMs: f.latencyMs }
          : undefined,
      );
      return frames.every((f): f is PaintedFrame => f !== undefined) ? { type: 'painted', frames } : undefined;
    }
    case 'tileSize':
      return isStreamId(m.streamId) && isCount(m.width, 16384) && isCount(m.height, 16384)
        ? { type: 'tileSize', streamId: m.streamId, width: m.width, height: m.height }
        : undefined;
    case 'action':
      return isStreamId(m.streamId) && oneOf(m.action, actions) ? { type: 'action', streamId: m.streamId, action: m.action } : undefined;
    case 'openFile':
      return isString(m.path) && m.path.length > 0 ? { type: 'openFile', path: m.path } : undefined;
    case 'options':
      return isStreamId(m.streamId) && oneOf(m.policy, policies) && isCount(m.maxFps, 240) && isCount(m.width, 7680)
        ? { type: 'options', streamId: m.streamId, policy: m.policy, maxFps: m.maxFps, width: m.width }
        : undefined;
    case 'snapshotData':
      return isCount(m.requestId, Number.MAX_SAFE_INTEGER) && isStreamId(m.streamId) && isBytes(m.png)
        ? { type: 'snapshotData', requestId: m.requestId, streamId: m.streamId, png: m.png }
        : undefined;
    case 'error':
      return isString(m.message) ? { type: 'error', message: m.message } : undefined;
    default:
      return undefined;
  }
}

function parseTile(value: unknown): TileInfo | undefined {
  if (!isObject(value) || !isStreamId(value.streamId) || !isString(value.name, 256) || !isString(value.uri)) return undefined;
  return { streamId: value.streamId, name: value.name, uri: value.uri };
}

function parseStats(value: unknown): TileStats | undefined {
  if (!isObject(value) || !isStreamId(value.streamId) || !oneOf(value.state, tileStates) || !isString(value.reason)) return undefined;
  const numbers = ['width', 'height', 'inputFps', 'paintedFps', 'latencyP50Ms', 'latencyP95Ms', 'bitRate', 'drops'] as const;
  if (!numbers.every((key) => isNumber(value[key]))) return undefined;
  if (!Array.isArray(value.audioLevels) || !value.audioLevels.every(isNumber)) return undefined;
  return {
    streamId: value.streamId,
    state: value.state,
    reason: value.reason,
    width: value.width as number,
    height: value.height as number,
    inputFps: value.inputFps as number,
    paintedFps: value.paintedFps as number,
    latencyP50Ms: value.latencyP50Ms as number,
    latencyP95Ms: value.latencyP95Ms as number,
    bitRate: value.bitRate as number,
    drops: value.drops as number,
    audioLevels: value.audioLevels as number[],
  };
}

/** The extension's message if it is one; undefined for anything else. */
export function parseHostMessage(message: unknown): HostMessage | undefined {
  if (!isObject(message)) return undefined;
  const m = message;
  switch (m.type) {
    case 'tiles': {
      if (!Array.isArray(m.tiles)) return undefined;
      const tiles = m.tiles.map(parseTile);
      return tiles.every((tile): tile is TileInfo => tile !== undefined) ? { type: 'tiles', tiles } : undefined;
    }
    case 'preview':
      return isHttpUrl(m.base) && isString(m.token, 256) && /^[A-Za-z0-9_-]+$/.test(m.token) ? { type: 'preview', base: m.base, token: m.token } : undefined;
    case 'feed':
      return isStreamId(m.streamId) && isString(m.query, 1024) && /^[A-Za-z0-9=&_.%-]*$/.test(m.query) ? { type: 'feed', streamId: m.streamId, query: m.query } : undefined;
    case 'stats': {
      const stats = parseStats(m.stats);
      return stats ? { type: 'stats', stats } : undefined;
    }
    case 'recording': {
      const r = m.recording;
      if (!isObject(r) || !isStreamId(r.streamId) || !oneOf(r.state, ['recording', 'stopped', 'failed'] as const) || !isNumber(r.startedAtMs) || !isString(r.file) || !isString(r.reason)) return undefined;
      return { type: 'recording', recording: { streamId: r.streamId, state: r.state, startedAtMs: r.startedAtMs, file: r.file, reason: r.reason } };
    }
    case 'snapshot':
      return isCount(m.requestId, Number.MAX_SAFE_INTEGER) && isStreamId(m.streamId) ? { type: 'snapshot', requestId: m.requestId, streamId: m.streamId } : undefined;
    default:
      return undefined;
  }
}

/** What the webview keeps with setState: restored after a reload (its streams opened again by URI). */
export interface PanelState {
  /** The layout chosen in the toolbar; 'auto' follows the number of tiles. */
  layout: GridLayout | 'auto';
  tiles: TileInfo[];
}

export function parsePanelState(value: unknown): PanelState | undefined {
  if (!isObject(value) || !oneOf(value.layout, [...gridLayouts, 'auto'] as const) || !Array.isArray(value.tiles)) return undefined;
  const tiles = value.tiles.map(parseTile);
  return tiles.every((tile): tile is TileInfo => tile !== undefined) ? { layout: value.layout, tiles } : undefined;
}

/** The smallest grid that shows `count` tiles. */
export function layoutFor(count: number): GridLayout {
  return gridLayouts.find((layout) => gridCapacity[layout] >= count) ?? '3x3';
}
