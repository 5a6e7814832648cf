import { readFile } from 'node:fs/promises';
import { type ChunkPlan, planChunks, validatePlan } from './chunkPlan';
import type { ModelCache } from './cache';
import { bootId } from './fileLock';

/**
 * What survives of a download when its process dies: beside `<sha256>.part` a JSON file
 * says how far each range got. downloader.ts rewrites it in place as bytes land, so a
 * killed process loses only what was in flight. Bytes the kernel had not yet written to
 * the disk do not survive a reboot, so `durable` records the progress as of the last
 * fdatasync, with the boot it belongs to: after a reboot the download resumes from there.
 */
export interface PartialStateFile {
  version: 1;
  sha256: string;
  size: number;
  ref: { store: string; path: string; revision: string };
  plan: { chunkBytes: number; done: number[] };
  durable: { bootId: string; done: number[] };
}

export async function loadPartialPlan(cache: ModelCache, sha256: string, size: number): Promise<{ plan: ChunkPlan; reason: string } | undefined> {
  let state: PartialStateFile;
  try {
    state = JSON.parse(await readFile(cache.partialStatePath(sha256), 'utf8')) as PartialStateFile;
  } catch {
    return undefined;
  }
  if (state.version !== 1 || state.sha256 !== sha256) return undefined;
  const sameBoot = state.durable?.bootId === bootId;
  const plan = validatePlan({ size, chunkBytes: state.plan?.chunkBytes, done: sameBoot ? state.plan?.done : state.durable?.done }, size);
  return plan ? { plan, reason: sameBoot ? 'resuming' : 'resuming after a reboot from the last synced point' } : undefined;
}

export function newPlan(size: number, chunkBytes: number): ChunkPlan {
  return planChunks(size, chunkBytes);
}

export function stateFile(sha256: string, ref: PartialStateFile['ref'], plan: ChunkPlan, durableDone: number[]): PartialStateFile {
  return { version: 1, sha256, size: plan.size, ref, plan: { chunkBytes: plan.chunkBytes, done: [...plan.done] }, durable: { bootId, done: durableDone } };
}
