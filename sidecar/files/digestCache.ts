// sha256 of store files, computed once per (file, size, mtime, inode) and shared by
// concurrent callers. Kept in memory for the life of the server.
import { log } from '../log';
import { sha256OfFile } from './hashFile';
import { type FileIdentity, revisionOf } from '../fileRevision';

interface Entry {
  revision: string;
  sha256: string;
}

export class DigestCache {
  private readonly known = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<string>>();
  /** How many files were hashed (not served from memory); for logs and tests. */
  hashes = 0;

  /** The digest of `realPath` at this identity if it is known already, else undefined. */
  peek(realPath: string, identity: FileIdentity): string | undefined {
    const entry = this.known.get(realPath);
    return entry && entry.revision === revisionOf(identity) ? entry.sha256 : undefined;
  }

  /**
   * The digest of `realPath` as it is at `identity`; hashes the file unless that is known
   * or being computed. Fails if the file changes while it is hashed, so that a digest is
   * never stored under an identity it does not belong to.
   */
  digest(realPath: string, identity: FileIdentity, stat: (path: string) => Promise<FileIdentity>): Promise<string> {
    const known = this.peek(realPath, identity);
    if (known) return Promise.resolve(known);
    const revision = revisionOf(identity);
    const key = `${realPath}\0${revision}`;
    let running = this.pending.get(key);
    if (!running) {
      running = this.hash(realPath, revision, stat).finally(() => this.pending.delete(key));
      this.pending.set(key, running);
    }
    return running;
  }

  private async hash(realPath: string, revision: string, stat: (path: string) => Promise<FileIdentity>): Promise<string> {
    this.hashes += 1;
    const started = Date.now();
    log.debug(`hashing ${realPath} (revision ${revision}; hash #${this.hashes})`);
    const sha256 = await sha256OfFile(realPath);
    const after = revisionOf(await stat(realPath));
    if (after !== revision) throw new FileChangedError(realPath);
    this.known.set(realPath, { revision, sha256 });
    log.debug(`hashed ${realPath} in ${Date.now() - started} ms: ${sha256}`);
    return sha256;
  }
}

export class FileChangedError extends Error {
  constructor(readonly realPath: string) {
    super(`the file changed while its sha256 was computed; try again`);
  }
}
