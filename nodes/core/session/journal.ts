import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, writeFileAtomic } from '../store';

const KIND = 'm2m-ev-session-journal';

export class JournalError extends Error {
  override readonly name = 'JournalError';
}

/**
 * The durable copy of one party's session: the latest snapshot, replaced atomically (temporary file, fsync,
 * rename, fsync of the directory) before any message that depends on it is sent. A crash leaves the previous or
 * the new snapshot, never a mix. A checksum guards against damage; a damaged or foreign file is reported, never
 * used. The file is readable by its owner only. It holds no seed.
 */
export class SessionJournal<T> {
  constructor(readonly file: string) {}

  async save(snapshot: T): Promise<void> {
    await ensurePrivateDir(path.dirname(this.file));
    const body = JSON.stringify(snapshot);
    const checksum = createHash('sha256').update(body).digest('hex');
    await writeFileAtomic(this.file, `{"kind":"${KIND}","version":1,"checksum":"${checksum}","snapshot":${body}}\n`);
  }

  /** The latest snapshot, or null when there is none yet. */
  async load(): Promise<T | null> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let parsed: { kind?: unknown; version?: unknown; checksum?: unknown; snapshot?: unknown };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new JournalError(`session journal ${this.file} is damaged (not JSON); it was not used`);
    }
    if (parsed?.kind !== KIND) throw new JournalError(`${this.file} is not a session journal; it was not used`);
    if (parsed.version !== 1) throw new JournalError(`session journal ${this.file} has unsupported version ${String(parsed.version)}`);
    const checksum = createHash('sha256').update(JSON.stringify(parsed.snapshot)).digest('hex');
    if (checksum !== parsed.checksum) throw new JournalError(`session journal ${this.file} fails its checksum; it was not used`);
    return parsed.snapshot as T;
  }
}
