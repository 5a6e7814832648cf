// Reads the Linux process table from /proc, to prove that no process outlives the sidecar.
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from './sidecar';

export interface ProcessEntry {
  pid: number;
  comm: string;
  /** R, S, D, Z (zombie: exited, not yet reaped), … */
  state: string;
  ppid: number;
  pgrp: number;
}

export function readProcess(pid: number): ProcessEntry | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp …"; comm may itself hold spaces and parentheses.
  const close = text.lastIndexOf(')');
  const [state, ppid, pgrp] = text.slice(close + 2).split(' ');
  return { pid, comm: text.slice(text.indexOf('(') + 1, close), state: state!, ppid: Number(ppid), pgrp: Number(pgrp) };
}

export function listProcesses(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readProcess(Number(name));
    if (entry) entries.push(entry);
  }
  return entries;
}

/** A process runs when it is in the table and not a zombie. */
export function isRunning(pid: number): boolean {
  const entry = readProcess(pid);
  return entry !== undefined && entry.state !== 'Z';
}

/** Live processes whose parent is `pid`. */
export function childrenOf(pid: number): ProcessEntry[] {
  return listProcesses().filter((p) => p.ppid === pid && p.state !== 'Z');
}

/** Live processes in process group `pgid` (the sidecars started here lead their own group). */
export function membersOfGroup(pgid: number): ProcessEntry[] {
  return listProcesses().filter((p) => p.pgrp === pgid && p.state !== 'Z');
}

/** Polls until `predicate` holds; throws `message()` after `ms`. */
export async function waitUntil(predicate: () => boolean, ms: number, message: () => string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(message());
    await sleep(everyMs);
  }
}
