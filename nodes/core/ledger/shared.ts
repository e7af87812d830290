import path from 'node:path';
import { DevTangle, DevTangleOptions } from './ledger';

export interface TangleLease {
  tangle: DevTangle;
  /** Gives the ledger back; the last release closes it. Call once per lease. */
  release(): Promise<void>;
}

interface Entry {
  opening: Promise<DevTangle>;
  users: number;
}

const open = new Map<string, Entry>();

/**
 * One ledger per data directory in this process: every caller asking for the same `dataDir` gets the same
 * DevTangle (the first caller's options win), and it closes when the last lease is released. For runtimes such as
 * Node-RED, where several config nodes may name the same directory.
 */
export async function leaseTangle(options: DevTangleOptions & { dataDir: string }): Promise<TangleLease> {
  const key = path.resolve(options.dataDir);
  let entry = open.get(key);
  if (!entry) {
    entry = { opening: DevTangle.open(options), users: 0 };
    open.set(key, entry);
    entry.opening.catch(() => open.delete(key));
  }
  entry.users++;
  const current = entry;
  let tangle: DevTangle;
  try {
    tangle = await current.opening;
  } catch (err) {
    current.users--;
    throw err;
  }
  let released = false;
  return {
    tangle,
    release: async () => {
      if (released) return;
      released = true;
      if (--current.users > 0) return;
      open.delete(key);
      await tangle.close();
    },
  };
}
