import type { ProbeResponse } from '../../proto/gen/sidestream/v1/streams';
import { type FileIdentity, revisionOf } from '../fileRevision';

/**
 * ffprobe's answers for local files, kept while the file is unchanged. Before it reads a
 * byte, ffprobe spends 50-70 ms loading its libraries, and a file is probed each time it
 * is opened: the Probe call and then Open, every open of the same clip, a reopen after
 * the idle timeout. The least recently used answer goes first once `capacity` are kept.
 */
export class ProbeCache {
  private readonly entries = new Map<string, { revision: string; probe: ProbeResponse }>();

  constructor(private readonly capacity = 64) {}

  /** The answer for `key` (the ffprobe and its arguments) if it was given for this revision of the file. */
  get(key: string, file: FileIdentity): ProbeResponse | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.revision !== revisionOf(file)) return undefined;
    this.entries.set(key, entry);
    return structuredClone(entry.probe);
  }

  set(key: string, file: FileIdentity, probe: ProbeResponse): void {
    this.entries.delete(key);
    this.entries.set(key, { revision: revisionOf(file), probe: structuredClone(probe) });
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
