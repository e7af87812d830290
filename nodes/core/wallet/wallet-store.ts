import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../store';

/** What a key index was used for. Every index is used for exactly one thing, once. */
export type KeyPurpose = 'address' | 'multisig';

export interface WalletAddress {
  index: number;
  address: string;
  /** Set once a bundle spending from the address was sent: a WOTS address must never sign twice. */
  spent: boolean;
}

/** A signed transfer whose inputs are marked spent but which may not have reached the Tangle yet. */
export interface PendingSend {
  address: string;
  value: number;
  /** The signed bundle, as it goes to the Tangle: sent again as it is, never signed anew. */
  trytes: string[];
}

interface WalletFile {
  kind: typeof FILE_KIND;
  version: 1;
  /** The lowest key index never handed out. Only ever grows. */
  nextIndex: number;
  addresses: WalletAddress[];
  /** Sends signed but not known to be on the Tangle (absent in files written before it existed). */
  pending?: PendingSend[];
}

const FILE_KIND = 'm2m-ev-wallet';

export class WalletStoreError extends Error {
  override readonly name = 'WalletStoreError';
}

/**
 * The public, persistent half of a wallet: its key-index counter and its single-signature addresses. No seed is
 * stored here. Every change is written (atomically, fsynced) before the method returns, so an index handed out is
 * never handed out again, also after a crash or a power cut. Writes are synchronous because they are small and
 * rare (one per address or per channel branch), and because the channel engine asks for indices synchronously.
 */
export class WalletStore {
  private constructor(
    readonly file: string,
    private data: WalletFile,
  ) {}

  /** Opens the store for one seed (named by its fingerprint) in `dir`, creating it if missing. */
  static open(dir: string, fingerprint: string): WalletStore {
    const file = path.join(dir, `wallet-${fingerprint}.json`);
    if (!fs.existsSync(file)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const store = new WalletStore(file, { kind: FILE_KIND, version: 1, nextIndex: 0, addresses: [] });
      store.save();
      return store;
    }
    let data: unknown;
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new WalletStoreError(`wallet file ${file} is not readable JSON (${(err as Error).message}); restore it from a backup`);
    }
    return new WalletStore(file, checkFile(file, data));
  }

  get nextIndex(): number {
    return this.data.nextIndex;
  }

  addresses(): readonly WalletAddress[] {
    return this.data.addresses;
  }

  /** Hands out `count` fresh key indices, persisted before they are returned. */
  allocate(count: number): number[] {
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError('count must be a positive integer');
    const first = this.data.nextIndex;
    this.data = { ...this.data, nextIndex: first + count };
    this.save();
    return Array.from({ length: count }, (_, i) => first + i);
  }

  addAddress(index: number, address: string): void {
    if (index >= this.data.nextIndex) throw new RangeError(`key index ${index} was never allocated`);
    this.data = { ...this.data, addresses: [...this.data.addresses, { index, address, spent: false }] };
    this.save();
  }

  pending(): readonly PendingSend[] {
    return this.data.pending ?? [];
  }

  /** Marks the inputs of a signed transfer spent and keeps the transfer until it is known to be on the Tangle. */
  markSpent(addresses: readonly string[], send: PendingSend): void {
    const spent = new Set(addresses);
    this.data = {
      ...this.data,
      addresses: this.data.addresses.map((a) => (spent.has(a.address) ? { ...a, spent: true } : a)),
      pending: [...this.pending(), send],
    };
    this.save();
  }

  /** Forgets a pending transfer: it is on the Tangle, or can never be. */
  settled(send: PendingSend): void {
    this.data = { ...this.data, pending: this.pending().filter((p) => p.trytes[0] !== send.trytes[0]) };
    this.save();
  }

  private save(): void {
    writeFileAtomicSync(this.file, JSON.stringify(this.data, null, 2));
  }
}

function checkFile(file: string, data: unknown): WalletFile {
  const candidate = data as Partial<WalletFile> | null;
  if (candidate === null || typeof candidate !== 'object' || candidate.kind !== FILE_KIND) {
    throw new WalletStoreError(`${file} is not an m2m-ev wallet file`);
  }
  if (candidate.version !== 1) throw new WalletStoreError(`${file} has unsupported version ${String(candidate.version)}`);
  const addressesOk =
    Array.isArray(candidate.addresses) &&
    candidate.addresses.every(
      (a) => Number.isSafeInteger(a?.index) && typeof a?.address === 'string' && typeof a?.spent === 'boolean',
    );
  const pendingOk =
    candidate.pending === undefined ||
    (Array.isArray(candidate.pending) &&
      candidate.pending.every((p) => typeof p?.address === 'string' && Number.isSafeInteger(p?.value) && Array.isArray(p?.trytes) && p.trytes.every((t) => typeof t === 'string')));
  if (!Number.isSafeInteger(candidate.nextIndex) || (candidate.nextIndex as number) < 0 || !addressesOk || !pendingOk) {
    throw new WalletStoreError(`${file} is damaged; restore it from a backup`);
  }
  return candidate as WalletFile;
}
