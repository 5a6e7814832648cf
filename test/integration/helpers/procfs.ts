// Reads the Linux process table from /proc, to prove that no process outlives the sidecar
// and that it keeps no connection it should have closed.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
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

/** How many TCP connections process `pid` has established to a remote `port` (IPv4 or IPv6). */
export function connectionsTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed while we looked
    }
  }
  const established = '01';
  let count = 0;
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // "sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode"
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const remotePort = Number.parseInt(fields[2]!.split(':')[1]!, 16);
      if (fields[3] === established && remotePort === port && inodes.has(fields[9]!)) count++;
    }
  }
  return count;
}
