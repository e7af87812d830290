import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from './errors';

/**
 * An exclusive lock on a data directory, held by one process: a `lock` file holding the owner's pid. A lock left
 * behind by a process that no longer runs (killed, power loss) is taken over.
 */
export class DirectoryLock {
  private constructor(private readonly file: string) {}

  static async acquire(dir: string): Promise<DirectoryLock> {
    const file = path.join(dir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.promises.writeFile(file, String(process.pid), { flag: 'wx', mode: 0o600 });
        return new DirectoryLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number.parseInt(await fs.promises.readFile(file, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && isRunning(owner)) {
        const who = owner === process.pid ? 'this process' : `process ${owner}`;
        throw new StoreError(`${dir} is already in use by ${who}`);
      }
      await fs.promises.rm(file, { force: true });
    }
    throw new StoreError(`cannot lock ${dir}: another process keeps taking the lock`);
  }

  async release(): Promise<void> {
    await fs.promises.rm(this.file, { force: true });
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
