/**
 * How a file is cut into ranges for parallel download, and how far each range got.
 * Pure data: the downloader fills it, the partial state file stores it.
 */
export interface ChunkPlan {
  size: number;
  chunkBytes: number;
  /** Bytes received of each chunk, from its start (ranges arrive in order). */
  done: number[];
}

export function planChunks(size: number, chunkBytes: number): ChunkPlan {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  const count = Math.ceil(size / chunkBytes);
  return { size, chunkBytes, done: new Array<number>(count).fill(0) };
}

export function chunkStart(plan: ChunkPlan, index: number): number {
  return index * plan.chunkBytes;
}

export function chunkLength(plan: ChunkPlan, index: number): number {
  return Math.min(plan.chunkBytes, plan.size - index * plan.chunkBytes);
}

export function isChunkComplete(plan: ChunkPlan, index: number): boolean {
  return plan.done[index]! >= chunkLength(plan, index);
}

export function bytesDone(plan: ChunkPlan): number {
  return plan.done.reduce((sum, bytes) => sum + bytes, 0);
}

export function isPlanComplete(plan: ChunkPlan): boolean {
  return bytesDone(plan) === plan.size;
}

/** The chunks still to fetch, in file order. */
export function pendingChunks(plan: ChunkPlan): number[] {
  const pending: number[] = [];
  for (let index = 0; index < plan.done.length; index += 1) if (!isChunkComplete(plan, index)) pending.push(index);
  return pending;
}

/** Checks a plan read back from disk against the file it claims to describe; undefined when it does not fit. */
export function validatePlan(value: unknown, size: number): ChunkPlan | undefined {
  const plan = value as Partial<ChunkPlan> | null;
  if (!plan || plan.size !== size || !Number.isSafeInteger(plan.chunkBytes) || (plan.chunkBytes ?? 0) <= 0 || !Array.isArray(plan.done)) return undefined;
  const candidate = { size, chunkBytes: plan.chunkBytes!, done: plan.done };
  if (candidate.done.length !== Math.ceil(size / candidate.chunkBytes)) return undefined;
  for (let index = 0; index < candidate.done.length; index += 1) {
    const bytes = candidate.done[index];
    if (!Number.isSafeInteger(bytes) || bytes! < 0 || bytes! > chunkLength(candidate, index)) return undefined;
  }
  return candidate as ChunkPlan;
}
