import fs from 'node:fs';
import path from 'node:path';
import { KeyPair, newKeyPair } from '../protocol';
import { ensurePrivateDir, writeFileAtomic } from '../store';
import { JournalError } from './journal';

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new JournalError(`${file} is damaged (${(err as Error).message}); it was not used`);
  }
}

const KEY = /^[A-Za-z0-9_-]{43}$/;

/**
 * The station's long-term Ed25519 identity: created on first start, kept (0600) next to its journal. Its public
 * key goes into every offer; vehicles pin it. It is not derived from the wallet seed, so that losing this file
 * never exposes the seed, and the seed never has to leave the wallet.
 */
export async function loadOrCreateIdentity(file: string): Promise<KeyPair> {
  const saved = (await readJson(file)) as Partial<KeyPair> | undefined;
  if (saved !== undefined) {
    if (typeof saved.publicKey !== 'string' || !KEY.test(saved.publicKey) || typeof saved.privateKey !== 'string' || !KEY.test(saved.privateKey)) {
      throw new JournalError(`${file} is not a station identity; it was not used`);
    }
    return { publicKey: saved.publicKey, privateKey: saved.privateKey };
  }
  const keys = newKeyPair();
  await ensurePrivateDir(path.dirname(file));
  await writeFileAtomic(file, `${JSON.stringify(keys)}\n`);
  return keys;
}

/**
 * The station keys a vehicle trusts, by station id: configured ones, and those pinned on first use (the first
 * key of a station the vehicle opened a session with). A station whose offer carries another key is refused.
 */
export class TrustStore {
  constructor(
    readonly file: string,
    private readonly configured: Record<string, string> = {},
  ) {}

  async keyOf(stationId: string): Promise<string | undefined> {
    if (this.configured[stationId]) return this.configured[stationId];
    const pins = ((await readJson(this.file)) ?? {}) as Record<string, unknown>;
    const pinned = pins[stationId];
    return typeof pinned === 'string' ? pinned : undefined;
  }

  async pin(stationId: string, key: string): Promise<void> {
    if (this.configured[stationId] || (await this.keyOf(stationId)) === key) return;
    const pins = ((await readJson(this.file)) ?? {}) as Record<string, string>;
    await ensurePrivateDir(path.dirname(this.file));
    await writeFileAtomic(this.file, `${JSON.stringify({ ...pins, [stationId]: key })}\n`);
  }
}
