import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from './errors';

/** Lock files this process holds: a lock file naming our pid but absent here is from an earlier boot. */
const heldHere = new Set<string>();

interface Owner {
  pid: number;
  /** Linux boot id: after a reboot, the pid in an old lock may belong to an unrelated process (or to us). */
  boot: string;
}

/**
 * An exclusive lock held by one process: a lock file naming the owner. A lock left behind by a process that no
 * longer runs (killed, power loss, reboot) is taken over. Taking and releasing it are a few small synchronous file
 * operations, so the same lock serves a data directory opened asynchronously and a wallet's key counter, which is
 * locked inside a synchronous method.
 */
export class DirectoryLock {
  private constructor(private readonly file: string) {}

  /** Locks a data directory (a `lock` file in it). */
  static async acquire(dir: string): Promise<DirectoryLock> {
    return DirectoryLock.acquireSync(path.join(dir, 'lock'), dir);
  }

  /** Locks with the lock file `file`; `what` names the locked thing in errors. */
  static acquireSync(file: string, what = file): DirectoryLock {
    const key = path.resolve(file);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(key, JSON.stringify(currentOwner()), { flag: 'wx', mode: 0o600 });
        heldHere.add(key);
        return new DirectoryLock(key);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let text = '';
      try {
        text = fs.readFileSync(key, 'utf8');
      } catch {
        // gone meanwhile: try again
      }
      refuseIfHeld(key, what, readOwner(text));
      fs.rmSync(key, { force: true });
    }
    throw new StoreError(`cannot lock ${what}: another process keeps taking the lock`);
  }

  releaseSync(): void {
    heldHere.delete(this.file);
    fs.rmSync(this.file, { force: true });
  }

  async release(): Promise<void> {
    this.releaseSync();
  }
}

function currentOwner(): Owner {
  return { pid: process.pid, boot: bootId() };
}

/** Throws when the lock's owner still holds it; otherwise the lock is stale (its owner is gone) and may go. */
function refuseIfHeld(key: string, what: string, owner: Owner | null): void {
  const me = currentOwner();
  if (!owner || owner.boot !== me.boot) return;
  if (owner.pid === me.pid && heldHere.has(key)) throw new StoreError(`${what} is already in use by this process`);
  if (owner.pid !== me.pid && isRunning(owner.pid)) throw new StoreError(`${what} is already in use by process ${owner.pid}`);
}

function readOwner(text: string): Owner | null {
  try {
    const owner = JSON.parse(text) as Partial<Owner>;
    return Number.isInteger(owner.pid) && typeof owner.boot === 'string' ? (owner as Owner) : null;
  } catch {
    return null;
  }
}

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown'; // no boot id on this system: the pid check alone decides
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
