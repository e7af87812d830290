import fs from 'node:fs';
import path from 'node:path';
import { DirectoryLock, StoreError, writeFileAtomicSync } from '../store';

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
  /** A send made at most once to its address (a channel deposit): its receipt is kept once it is on the Tangle. */
  once?: boolean;
}

/** The receipt of a send made at most once to its address, kept until its caller has recorded it. */
export interface OnceSent {
  address: string;
  bundle: string;
  tail: string;
}

interface WalletFile {
  kind: typeof FILE_KIND;
  version: 1;
  /** The lowest key index never handed out. Only ever grows. */
  nextIndex: number;
  /** The addresses the wallet asks the Tangle about: unspent, or spent and not yet seen empty. */
  addresses: WalletAddress[];
  /**
   * Spent addresses seen empty (the spend confirmed): never asked about again, and kept, the last RETIRED_KEPT of
   * them, only so that a bundle they signed is still recognised as ours (absent in files written before it existed).
   */
  retired?: WalletAddress[];
  /** Sends signed but not known to be on the Tangle (absent in files written before it existed). */
  pending?: PendingSend[];
  /** Sends made at most once to their address, on the Tangle, that their caller has not yet forgotten (idem). */
  sentOnce?: OnceSent[];
}

const FILE_KIND = 'm2m-ev-wallet';
/**
 * Retired addresses kept: for a party restarted from a journal of an earlier version, which finds its own deposit
 * by them (a deposit sent since has a receipt, `sentOnce`); few enough that the file stays small.
 */
export const RETIRED_KEPT = 16;

export class WalletStoreError extends Error {
  override readonly name = 'WalletStoreError';
}

/** The stores of this process, by file: every wallet on one seed and folder shares one, for the process's life. */
const stores = new Map<string, WalletStore>();

/**
 * The public, persistent half of a wallet: its key-index counter and its single-signature addresses. No seed is
 * stored here. Every change is written (atomically, fsynced) before the method returns, so an index handed out is
 * never handed out again, also after a crash or a power cut. Writes are synchronous because they are small and
 * rare (one per address or per channel branch), and because the channel engine asks for indices synchronously.
 *
 * One counter per seed, whoever counts. Every wallet on the same file in this process (two `iota-wallet` nodes on
 * one seed, a redeployed node and its predecessor still finishing a payment) gets the same store: one counter,
 * one address list, one turn for sends. Across processes a lock file (`wallet-<fingerprint>.json.lock`) decides:
 * the store takes it before its first change and reads the file again then, and lets it go when its last wallet
 * closes. Another process that wants to change the file meanwhile is refused with an error naming the holder; a
 * lock whose holder is gone (killed, a power cut, a reboot) is taken over.
 */
export class WalletStore {
  private queue: Promise<unknown> = Promise.resolve();
  private lock: DirectoryLock | null = null;
  /** Wallets open on this store; the lock goes when the last one closes. */
  private users = 0;

  private constructor(
    readonly file: string,
    private data: WalletFile,
  ) {}

  /**
   * Opens the store for one seed (named by its fingerprint) in `dir`, creating it if missing, for one more wallet
   * (`release` it when that wallet closes). A store already open in this process is shared, and read again.
   */
  static open(dir: string, fingerprint: string): WalletStore {
    const file = path.resolve(dir, `wallet-${fingerprint}.json`);
    let store = stores.get(file);
    if (store) {
      store.reload();
    } else if (fs.existsSync(file)) {
      store = new WalletStore(file, readFile(file));
    } else {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      store = new WalletStore(file, { kind: FILE_KIND, version: 1, nextIndex: 0, addresses: [] });
      store.change((data) => data);
    }
    stores.set(file, store);
    store.users++;
    return store;
  }

  /** One wallet less on this store; with none left, another process may take the file over. */
  release(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0 || !this.lock) return;
    this.lock.releaseSync();
    this.lock = null;
  }

  /**
   * Runs `work` when no other work of a wallet on this store runs: two sends, from one wallet node or from two on
   * the same seed, never pick the same input (a one-time key must sign once).
   */
  inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Reads the file again; the counter never goes back, even if the file was restored from an older backup. */
  private reload(): void {
    const data = readFile(this.file);
    this.data = { ...data, nextIndex: Math.max(data.nextIndex, this.data.nextIndex) };
  }

  get nextIndex(): number {
    return this.data.nextIndex;
  }

  /** The addresses to ask the Tangle about: unspent, or spent and not yet seen empty. */
  addresses(): readonly WalletAddress[] {
    return this.data.addresses;
  }

  /** The last RETIRED_KEPT spent addresses seen empty, oldest first. */
  retired(): readonly WalletAddress[] {
    return this.data.retired ?? [];
  }

  /** Stops asking about spent addresses seen empty: they move to the retired ones, of which the last few are kept. */
  retire(addresses: readonly string[]): void {
    const gone = new Set(addresses);
    if (!this.data.addresses.some((a) => a.spent && gone.has(a.address))) return;
    this.change((data) => ({
      ...data,
      addresses: data.addresses.filter((a) => !(a.spent && gone.has(a.address))),
      retired: [...(data.retired ?? []), ...data.addresses.filter((a) => a.spent && gone.has(a.address))].slice(-RETIRED_KEPT),
    }));
  }

  /** Hands out `count` fresh key indices, persisted before they are returned. */
  allocate(count: number): number[] {
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError('count must be a positive integer');
    const first = this.change((data) => ({ ...data, nextIndex: data.nextIndex + count })).nextIndex - count;
    return Array.from({ length: count }, (_, i) => first + i);
  }

  addAddress(index: number, address: string): void {
    this.change((data) => {
      if (index >= data.nextIndex) throw new RangeError(`key index ${index} was never allocated`);
      return { ...data, addresses: [...data.addresses, { index, address, spent: false }] };
    });
  }

  pending(): readonly PendingSend[] {
    return this.data.pending ?? [];
  }

  /** Marks the inputs of a signed transfer spent and keeps the transfer until it is known to be on the Tangle. */
  markSpent(addresses: readonly string[], send: PendingSend): void {
    const spent = new Set(addresses);
    this.change((data) => ({
      ...data,
      addresses: data.addresses.map((a) => (spent.has(a.address) ? { ...a, spent: true } : a)),
      pending: [...(data.pending ?? []), send],
    }));
  }

  /**
   * Forgets a pending transfer: it is on the Tangle (`receipt`), or can never be. A send made at most once keeps its
   * receipt, in the same write: there is no moment at which it is neither pending nor known as sent.
   */
  settled(send: PendingSend, receipt?: { bundle: string; tail: string }): void {
    this.change((data) => ({
      ...data,
      pending: (data.pending ?? []).filter((p) => p.trytes[0] !== send.trytes[0]),
      ...(send.once && receipt ? { sentOnce: [...(data.sentOnce ?? []), { address: send.address, ...receipt }] } : {}),
    }));
  }

  /** The receipt of the send made at most once to `address`, if it is on the Tangle and not yet forgotten. */
  sentOnce(address: string): OnceSent | undefined {
    return this.data.sentOnce?.find((s) => s.address === address);
  }

  /** Forgets the receipt of the send made at most once to `address`: its caller has recorded it. */
  forgetSentOnce(address: string): void {
    if (!this.sentOnce(address)) return;
    this.change((data) => ({ ...data, sentOnce: (data.sentOnce ?? []).filter((s) => s.address !== address) }));
  }

  /**
   * Changes the file, holding its lock: taken (and the file read again, another process may have written it)
   * before the first change, kept until the last wallet on this store closes.
   */
  private change(update: (data: WalletFile) => WalletFile): WalletFile {
    if (!this.lock) {
      this.lock = lockAgainstOtherProcesses(this.file);
      if (fs.existsSync(this.file)) this.reload();
    }
    this.data = update(this.data);
    writeFileAtomicSync(this.file, JSON.stringify(this.data, null, 2));
    return this.data;
  }
}

function lockAgainstOtherProcesses(file: string): DirectoryLock {
  try {
    return DirectoryLock.acquireSync(`${file}.lock`);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    throw new WalletStoreError(`${err.message}: another Node-RED process uses the same wallet, and two counters on one seed would sign with the same one-time key; stop the other process or give each its own seed`);
  }
}

function readFile(file: string): WalletFile {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new WalletStoreError(`wallet file ${file} is not readable JSON (${(err as Error).message}); restore it from a backup`);
  }
  return checkFile(file, data);
}

function checkFile(file: string, data: unknown): WalletFile {
  const candidate = data as Partial<WalletFile> | null;
  if (candidate === null || typeof candidate !== 'object' || candidate.kind !== FILE_KIND) {
    throw new WalletStoreError(`${file} is not an m2m-ev wallet file`);
  }
  if (candidate.version !== 1) throw new WalletStoreError(`${file} has unsupported version ${String(candidate.version)}`);
  const isAddressList = (list: unknown): boolean =>
    Array.isArray(list) && list.every((a: Partial<WalletAddress> | null) => Number.isSafeInteger(a?.index) && typeof a?.address === 'string' && typeof a?.spent === 'boolean');
  const addressesOk = isAddressList(candidate.addresses) && (candidate.retired === undefined || isAddressList(candidate.retired));
  const pendingOk =
    candidate.pending === undefined ||
    (Array.isArray(candidate.pending) &&
      candidate.pending.every((p) => typeof p?.address === 'string' && Number.isSafeInteger(p?.value) && Array.isArray(p?.trytes) && p.trytes.every((t) => typeof t === 'string')));
  const sentOnceOk =
    candidate.sentOnce === undefined ||
    (Array.isArray(candidate.sentOnce) && candidate.sentOnce.every((s) => typeof s?.address === 'string' && typeof s?.bundle === 'string' && typeof s?.tail === 'string'));
  if (!Number.isSafeInteger(candidate.nextIndex) || (candidate.nextIndex as number) < 0 || !addressesOk || !pendingOk || !sentOnceOk) {
    throw new WalletStoreError(`${file} is damaged; restore it from a backup`);
  }
  return candidate as WalletFile;
}
