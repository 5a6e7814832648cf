// Pure helpers for the model-file settings and views (no `vscode` import: unit-tested).

const sizeUnits: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3, ti: 1024 ** 4, tib: 1024 ** 4,
};

/**
 * A size setting → bytes: a number of bytes, or text such as "20GiB", "500 MB", "1.5G";
 * 0, "" and "0" mean no limit (0). undefined when the text is not a size.
 */
export function parseByteSize(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return 0;
  if (typeof value === 'number') return Number.isSafeInteger(Math.floor(value)) && value >= 0 ? Math.floor(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  if (!match) return value.trim() === '' ? 0 : undefined;
  const unit = sizeUnits[match[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** 1536 → "1.5 KiB", 52428800 → "50 MiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : Math.round(value * 10) / 10} ${units[unit]}`;
}

/** Seconds → "45 s", "3 min 20 s", "1 h 5 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
}

/** Whole percent, 0–100, never 100 before the end. */
export function percentOf(done: number, total: number): number {
  if (!(total > 0)) return 0;
  const percent = Math.floor((done / total) * 100);
  return Math.min(done >= total ? 100 : 99, Math.max(0, percent));
}

/** "42 % · 12.3 MiB/s · 5 s left" for a progress notification. */
export function progressMessage(done: number, total: number, bytesPerSecond: number, etaSeconds: number): string {
  const parts = [total > 0 ? `${percentOf(done, total)} % of ${formatBytes(total)}` : formatBytes(done)];
  if (bytesPerSecond > 0) parts.push(`${formatBytes(bytesPerSecond)}/s`);
  if (etaSeconds > 0) parts.push(`${formatDuration(etaSeconds)} left`);
  return parts.join(' · ');
}

/**
 * Replaces `${env:NAME}` in a setting's text with the environment variable (empty when
 * unset); the names of unset variables are returned so that the caller can warn.
 */
export function expandEnv(text: string, env: NodeJS.ProcessEnv): { value: string; missing: string[] } {
  const missing: string[] = [];
  const value = text.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const found = env[name];
    if (found === undefined) missing.push(name);
    return found ?? '';
  });
  return { value, missing };
}

export interface ModelStoreSetting {
  name: string;
  address: string;
  token: string;
}

/** The `sidestream.modelStores` setting, checked: the stores, and a sentence per entry that was skipped. */
export function readModelStores(raw: unknown, env: NodeJS.ProcessEnv): { stores: ModelStoreSetting[]; problems: string[] } {
  const stores: ModelStoreSetting[] = [];
  const problems: string[] = [];
  if (raw === undefined || raw === null) return { stores, problems };
  if (!Array.isArray(raw)) return { stores, problems: ['sidestream.modelStores must be a list of {"name", "address", "token"}'] };
  const names = new Set<string>();
  raw.forEach((entry: unknown, index) => {
    const item = (entry ?? {}) as Record<string, unknown>;
    const name = typeof item.name === 'string' ? item.name.trim() : '';
    const address = typeof item.address === 'string' ? item.address.trim() : '';
    if (!name || !address) {
      problems.push(`sidestream.modelStores[${index}] needs a "name" and an "address" (HOST:PORT); skipped`);
      return;
    }
    if (names.has(name)) {
      problems.push(`sidestream.modelStores has two stores named "${name}"; the second is skipped`);
      return;
    }
    names.add(name);
    const token = expandEnv(typeof item.token === 'string' ? item.token : '', env);
    for (const variable of token.missing) problems.push(`model store "${name}": the environment variable ${variable} in its token is not set`);
    stores.push({ name, address, token: token.value.trim() });
  });
  return { stores, problems };
}

/** The last part of a store path: "yolo/v8n.onnx" → "v8n.onnx". */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1) || path;
}
