/** The one JSON line the sidecar prints on stdout once it listens. */
export interface Handshake {
  address: string;
  pid: number;
  version: string;
}

export function parseHandshake(line: string): Handshake {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`the sidecar's first stdout line is not JSON: ${line.slice(0, 200)}`);
  }
  const { address, pid, version } = (value ?? {}) as Record<string, unknown>;
  if (typeof address !== 'string' || !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(address)) {
    throw new Error(`the sidecar's handshake has no valid "address": ${line.slice(0, 200)}`);
  }
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) {
    throw new Error(`the sidecar's handshake has no valid "pid": ${line.slice(0, 200)}`);
  }
  if (typeof version !== 'string' || version.length === 0) {
    throw new Error(`the sidecar's handshake has no "version": ${line.slice(0, 200)}`);
  }
  return { address, pid, version };
}
