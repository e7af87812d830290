import fs from 'node:fs';
import path from 'node:path';

/**
 * Creates the directory (and parents) readable by the owner only, durably: the new entry is fsynced into its
 * parent, so files acknowledged inside it do not vanish with it on power loss. An existing directory is left as is.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const firstCreated = await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  if (firstCreated !== undefined) await syncDir(path.dirname(firstCreated));
}

/** Makes a rename or a new file durable: the directory entry itself must reach the disk. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` with `data` so that a crash at any moment leaves either the old or the new content, never a mix:
 * write a temporary file next to it, fsync it, rename it over the target, fsync the directory. Mode 0600.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = `${file}.tmp-${process.pid}`;
  const handle = await fs.promises.open(temp, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temp, file);
  await syncDir(path.dirname(file));
}

/**
 * The synchronous twin of writeFileAtomic, for small files whose callers cannot wait (a key counter that must be
 * on disk before an index is handed out).
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const temp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  const dirFd = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}
