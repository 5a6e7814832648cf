import type { ClientReadableStream } from '@grpc/grpc-js';
import { type StreamEvent, StreamState } from '../proto/gen/sidestream/v1/streams';
import type { BufferPolicyChoice, TileState, TileStats } from '../webview/protocol';
import type { MediaClient } from './streams';

/** A stream's state as the panel and the Streams view name it. */
const stateNames: Record<StreamState, TileState> = {
  [StreamState.STREAM_STATE_UNSPECIFIED]: 'idle',
  [StreamState.STREAM_STATE_IDLE]: 'idle',
  [StreamState.STREAM_STATE_STARTING]: 'starting',
  [StreamState.STREAM_STATE_LIVE]: 'live',
  [StreamState.STREAM_STATE_STALLED]: 'stalled',
  [StreamState.STREAM_STATE_RECONNECTING]: 'reconnecting',
  [StreamState.STREAM_STATE_ENDED]: 'ended',
  [StreamState.STREAM_STATE_FAILED]: 'failed',
  [StreamState.UNRECOGNIZED]: 'idle',
};

export const tileState = (state: StreamState): TileState => stateNames[state] ?? 'idle';

/** The preview's JPEG quality (ffmpeg's scale, 2 best – 31 worst): sharp enough for a tile, a few tens of kB a frame. */
const previewQuality = 8;

export interface TileSink {
  /** The query of the preview the webview should read for this tile (see PreviewServer); '' for none. */
  feed(query: string): void;
  stats(stats: TileStats): void;
}

const paintWindowMs = 5000;

/** Nearest-rank percentile of unsorted values. */
function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

/**
 * One tile's feed: which JPEG preview the webview reads from the sidecar (sized to the
 * tile, with the tile's policy and frame rate; none while paused or hidden), the
 * stream's state and analytics from WatchStream, and the capture → paint latency the
 * webview reports. The frames themselves go from the sidecar to the webview directly.
 */
export class TileFeed {
  private subscribed = false;
  private watchCall: ClientReadableStream<StreamEvent> | undefined;
  private width = 640;
  private tileWidth = 640;
  /** A width the person chose for this tile's frames; 0 follows the tile. */
  private chosenWidth = 0;
  private policy: BufferPolicyChoice = 'latest_only';
  private maxFps = 0;
  private paused = false;
  private paints: Array<{ atMs: number; latencyMs: number }> = [];
  /** Frames the webview received but skipped for a newer one. */
  private skipped = 0;
  private state: TileState = 'starting';
  private reason = '';
  private lastEvent: StreamEvent | undefined;
  private disposed = false;

  constructor(
    readonly streamId: string,
    private media: MediaClient,
    private readonly sink: TileSink,
  ) {}

  /** Starts (or restarts, on another sidecar) the subscription and the watch. */
  start(media: MediaClient = this.media): void {
    this.media = media;
    this.stopCalls();
    if (this.disposed) return;
    this.watchCall = media.watch(this.streamId, 1000);
    this.watchCall.on('data', (event: StreamEvent) => this.onEvent(event));
    this.watchCall.on('error', () => this.onLost('the sidecar went away'));
    if (!this.paused) this.subscribe();
  }

  private subscribe(): void {
    this.subscribed = true;
    const query = new URLSearchParams({ width: String(this.width), policy: this.policy, max_fps: String(this.maxFps), quality: String(previewQuality) });
    this.sink.feed(query.toString());
  }

  private onLost(reason: string): void {
    if (this.disposed) return;
    this.setState('reconnecting', reason);
  }

  /** The webview drew a frame (capture → paint latency ≥ 0), or skipped one for a newer one (latency < 0). */
  painted(latencyMs: number): void {
    const now = Date.now();
    if (latencyMs >= 0) this.paints.push({ atMs: now, latencyMs });
    while (this.paints.length > 0 && this.paints[0]!.atMs < now - paintWindowMs) this.paints.shift();
    if (latencyMs < 0) this.skipped++;
  }

  /** The tile's size in the webview: frames are scaled by ffmpeg to its width (unless a width was chosen). */
  resize(width: number): void {
    this.tileWidth = Math.max(160, Math.min(1920, Math.round(width / 32) * 32));
    this.applyWidth();
  }

  setOptions(policy: BufferPolicyChoice, maxFps: number, width: number): void {
    const changed = policy !== this.policy || maxFps !== this.maxFps;
    this.policy = policy;
    this.maxFps = maxFps;
    this.chosenWidth = width;
    if (!this.applyWidth() && changed && this.subscribed) this.subscribe();
  }

  /** Subscribes again when the width frames should have changed; says whether it did. */
  private applyWidth(): boolean {
    const wanted = this.chosenWidth || this.tileWidth;
    if (wanted === this.width) return false;
    this.width = wanted;
    if (this.subscribed) this.subscribe();
    return true;
  }

  /** A hidden panel or a paused tile gets no frames at all; its analytics go on. Says whether that changed (and was posted). */
  setPaused(paused: boolean): boolean {
    if (paused === this.paused) return false;
    this.paused = paused;
    if (paused) this.unsubscribe();
    else if (!this.disposed) this.subscribe();
    return true;
  }

  /** Tells the webview again what to read (its page was replaced). */
  repost(): void {
    if (this.subscribed) this.subscribe();
    else this.sink.feed('');
  }

  private unsubscribe(): void {
    this.subscribed = false;
    this.sink.feed('');
  }

  private onEvent(event: StreamEvent): void {
    this.lastEvent = event;
    if (event.stream) this.setState(tileState(event.stream.state), event.stream.reason);
    else this.emitStats();
  }

  private setState(state: TileState, reason: string): void {
    this.state = state;
    this.reason = reason;
    this.emitStats();
  }

  stats(): TileStats {
    const now = Date.now();
    const recent = this.paints.filter((paint) => paint.atMs >= now - 1000);
    const latencies = this.paints.map((paint) => paint.latencyMs);
    const analytics = this.lastEvent?.analytics;
    const video = this.lastEvent?.stream?.source?.streams.find((s) => s.type === 'video');
    return {
      streamId: this.streamId,
      state: this.state,
      reason: this.reason,
      width: video?.width ?? 0,
      height: video?.height ?? 0,
      inputFps: analytics?.inputFps ?? 0,
      paintedFps: recent.length,
      latencyP50Ms: percentile(latencies, 0.5),
      latencyP95Ms: percentile(latencies, 0.95),
      bitRate: analytics?.inputBitRate ?? 0,
      drops: (analytics?.droppedByPolicy ?? 0) + (analytics?.droppedByDecoder ?? 0) + (analytics?.droppedByNetwork ?? 0) + this.skipped,
      audioLevels: analytics?.audio?.channels.map((channel) => channel.rmsDbfs) ?? [],
    };
  }

  private emitStats(): void {
    this.sink.stats(this.stats());
  }

  private stopCalls(): void {
    this.unsubscribe();
    const watch = this.watchCall;
    this.watchCall = undefined;
    watch?.removeAllListeners('error');
    watch?.on('error', () => undefined);
    watch?.cancel();
  }

  dispose(): void {
    this.disposed = true;
    this.stopCalls();
  }
}
