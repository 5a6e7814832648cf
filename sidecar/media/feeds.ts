import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { ProbeResponse, WebrtcAnalytics } from '../../proto/gen/sidestream/v1/streams';

/**
 * Media that the sidecar itself receives (a WHIP publisher, for instance) and hands
 * to ffmpeg through pipes: a `whip:<name>` stream decodes the feed named <name> like
 * any other source.
 */
export interface FeedInput {
  /** Demuxer options that go before this input's `-i`, e.g. ['-f', 'ivf']. */
  demuxerArgs: string[];
  /** What the input carries: the decoder takes video and audio from the right inputs. */
  media?: 'video' | 'audio';
  /** A fresh stream of this input for one decoder run, starting where ffmpeg can decode (a keyframe). */
  open(): Readable;
}

export interface MediaFeed {
  readonly name: string;
  /** What the feed carries; resolves once it is known (e.g. after the first keyframe). */
  describe(): Promise<ProbeResponse>;
  /** The inputs of one decoder run; ffmpeg sees them as inputs 0, 1, … in this order. */
  inputs(): FeedInput[];
  /** Resolves with a reason when the feed is over (the publisher left): its stream ends. */
  readonly ended: Promise<string>;
  /** The decoder reported damage: the feed should get a keyframe (a WebRTC PLI). */
  requestKeyframe?(reason: string): void;
  /** Receive figures of a WebRTC feed, added to its stream's analytics. */
  stats?(): WebrtcAnalytics;
}

/** The feeds of one sidecar by name; emits 'added' and 'removed' with the feed. */
export class FeedRegistry extends EventEmitter {
  private readonly feeds = new Map<string, MediaFeed>();

  add(feed: MediaFeed): void {
    if (this.feeds.has(feed.name)) throw new Error(`a feed named "${feed.name}" exists already`);
    this.feeds.set(feed.name, feed);
    this.emit('added', feed);
    void feed.ended.then(() => this.remove(feed));
  }

  remove(feed: MediaFeed): void {
    if (this.feeds.get(feed.name) !== feed) return;
    this.feeds.delete(feed.name);
    this.emit('removed', feed);
  }

  get(name: string): MediaFeed | undefined {
    return this.feeds.get(name);
  }

  names(): string[] {
    return [...this.feeds.keys()];
  }
}
