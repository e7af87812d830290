import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from './errors';

/** Directories this process holds locks on: a lock file naming our pid but absent here is from an earlier boot. */
const heldHere = new Set<string>();

interface Owner {
  pid: number;
  /** Linux boot id: after a reboot, the pid in an old lock may belong to an unrelated process (or to us). */
  boot: string;
}

/**
 * An exclusive lock on a data directory, held by one process: a `lock` file naming the owner. A lock left behind
 * by a process that no longer runs (killed, power loss, reboot) is taken over.
 */
export class DirectoryLock {
  private constructor(
    private readonly dir: string,
    private readonly file: string,
  ) {}

  static async acquire(dir: string): Promise<DirectoryLock> {
    const key = path.resolve(dir);
    const file = path.join(key, 'lock');
    const me: Owner = { pid: process.pid, boot: bootId() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.promises.writeFile(file, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
        heldHere.add(key);
        return new DirectoryLock(key, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = readOwner(await fs.promises.readFile(file, 'utf8').catch(() => ''));
      if (owner && owner.boot === me.boot) {
        if (owner.pid === me.pid && heldHere.has(key)) throw new StoreError(`${dir} is already in use by this process`);
        if (owner.pid !== me.pid && isRunning(owner.pid)) throw new StoreError(`${dir} is already in use by process ${owner.pid}`);
      }
      await fs.promises.rm(file, { force: true });
    }
    throw new StoreError(`cannot lock ${dir}: another process keeps taking the lock`);
  }

  async release(): Promise<void> {
    heldHere.delete(this.dir);
    await fs.promises.rm(this.file, { force: true });
  }
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
