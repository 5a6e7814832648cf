/** What tells one version of a file's content from another: a `stat(…, { bigint: true })` has all three. */
export interface FileIdentity {
  size: bigint;
  mtimeNs: bigint;
  ino: bigint;
}

/** The revision of a file: size, modification time (ns) and inode, as an opaque string. */
export function revisionOf(stats: FileIdentity): string {
  return `${stats.size.toString(36)}-${stats.mtimeNs.toString(36)}-${stats.ino.toString(36)}`;
}
