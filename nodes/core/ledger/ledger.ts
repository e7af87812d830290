import path from 'node:path';
import type { Transaction } from '@iota/core';
import { address } from '../iota/wots';
import { asTransactionObject } from '@iota/transaction-converter';
import { attachTrytes, PowCancelledError, PowPool } from '../pow';
import { AppendLog, DirectoryLock, ensurePrivateDir, StoreError } from '../store';
import { RequestError } from './errors';
import { checksum, FileSlots, MemorySlots, TransactionSlots } from './slots';
import { BundleVerifier } from './verifier';
import {
  checkBundle,
  checkTransaction,
  hashOf,
  hasValueAddress,
  isHash,
  isTrytes,
  NULL_HASH,
  StoredTransaction,
  SUPPLY,
  TRANSACTION_TRYTES,
} from './validate';

/** Funds a development ledger gets when it is created: an address, or the first `count` addresses of a seed. */
export type GenesisFunding =
  | { address: string; value: number }
  | { seed: string; count?: number; security?: number; value: number };

export interface DevTangleOptions {
  /** Where the ledger lives (created 0700 if missing). Omitted: in memory only, gone on close. */
  dataDir?: string;
  /** Proof of work every transaction must carry. Default 9 (the old devnet); mainnet used 14. */
  minWeightMagnitude?: number;
  /** 0 (default): a bundle is confirmed as soon as it is accepted. N > 0: a milestone confirms every N ms. */
  milestoneIntervalMs?: number;
  /** Development mode: genesis funding and the faucet. Only takes effect when the ledger is created. */
  dev?: boolean;
  /** Development only: funding applied once, when the ledger is created. Seeds are used, never stored. */
  genesis?: readonly GenesisFunding[];
  /** Worker threads for the attachToTangle command. Default 1. */
  powWorkers?: number;
  /** Hears about what the ledger cannot report to a caller: a torn tail dropped on open, a failed milestone. */
  log?: (level: 'error' | 'warn', message: string) => void;
}

export interface NodeInfo {
  appName: string;
  appVersion: string;
  development: boolean;
  minWeightMagnitude: number;
  latestMilestone: string;
  latestMilestoneIndex: number;
  latestSolidSubtangleMilestone: string;
  latestSolidSubtangleMilestoneIndex: number;
  milestoneStartIndex: number;
  lastSnapshottedMilestoneIndex: number;
  neighbors: number;
  packetsQueueSize: number;
  time: number;
  tips: number;
  transactionsToRequest: number;
  features: string[];
  coordinatorAddress: string;
}

export interface FindQuery {
  addresses?: readonly string[];
  bundles?: readonly string[];
  tags?: readonly string[];
  approvees?: readonly string[];
}

type LedgerRecord =
  | { type: 'genesis'; createdAt: number; dev: boolean }
  | { type: 'mint'; address: string; value: number; reason: 'genesis' | 'faucet' }
  | TxsRecord
  | { type: 'milestone'; index: number; time: number; tails: string[] };

/** A stored batch: its transactions are in the slots from `first` on, in the order of `hashes`. */
interface TxsRecord {
  type: 'txs';
  first: number;
  hashes: string[];
  /** checksum() of the batch's trytes, checked when the ledger is opened. */
  sum: string;
  accepted: string[];
  reattached: string[];
}

/** Version 1 kept the trytes in the log itself (and so in memory); opening such a ledger carries it over. */
interface LegacyTxsRecord {
  type: 'txs';
  txs: { hash: string; trytes: string }[];
  accepted: string[];
  reattached: string[];
}

interface BundleEntry {
  hashes: string[];
  /** false for a reattachment of a bundle already accepted: valid, but it moves no money a second time. */
  counts: boolean;
  milestone: number | null;
}

const LOG_FILE = 'ledger.log';
const SLOTS_FILE = 'transactions';
const LOG_KIND = 'm2m-tangle-ledger';
const LOG_VERSION = 2;
const APP_VERSION = '1.0.0';

/**
 * A validating development Tangle: it stores legacy IOTA transactions, accepts a bundle only if it is valid and
 * keeps every balance non-negative, confirms accepted bundles with milestones, and persists everything to an
 * append-only log that is fsynced before any acceptance or confirmation is reported.
 *
 * The transactions themselves live in a file of slots (`slots.ts`); memory holds indexes only: each transaction's
 * slot, and the hashes by address, bundle, tag and approvee, as IRI's findTransactions needs them.
 *
 * The methods mirror the IRI commands; `startTangleServer` serves them over HTTP.
 */
export class DevTangle {
  readonly minWeightMagnitude: number;
  readonly milestoneIntervalMs: number;
  private dev = false;
  private createdAt = 0;
  /** The slot of every stored transaction, by hash. */
  private readonly txs = new Map<string, number>();
  /** Slots named by the log so far: the next batch goes into the slots from here on. */
  private slotCount = 0;
  /** Hashes by field, in arrays: most keys name one or two transactions, and a Set costs several times more. */
  private readonly byAddress = new Map<string, string[]>();
  private readonly byBundle = new Map<string, string[]>();
  private readonly byTag = new Map<string, string[]>();
  private readonly byApprovee = new Map<string, string[]>();
  /** Complete, valid bundles by tail hash, and the tail of every transaction in them. */
  private readonly bundles = new Map<string, BundleEntry>();
  private readonly tailOf = new Map<string, string>();
  private readonly acceptedBundleHashes = new Set<string>();
  /** Balances after every accepted bundle (for the double-spend check) and after the last milestone. */
  private readonly acceptedBalances = new Map<string, number>();
  private readonly confirmedBalances = new Map<string, number>();
  private readonly spent = new Set<string>();
  private readonly tips = new Set<string>();
  private pending: string[] = [];
  private milestoneIndex = 0;
  private latestMilestone = NULL_HASH;
  private minted = 0;
  private mutex: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private readonly verifier = new BundleVerifier();
  private closed = false;

  private constructor(
    options: DevTangleOptions,
    private readonly log: AppendLog<LedgerRecord> | null,
    private readonly slots: TransactionSlots,
    private readonly lock: DirectoryLock | null,
    private readonly pow: PowPool,
  ) {
    this.minWeightMagnitude = options.minWeightMagnitude ?? 9;
    this.milestoneIntervalMs = options.milestoneIntervalMs ?? 0;
  }

  /** Opens (or creates) the ledger in `options.dataDir`; fails with a StoreError on a foreign or corrupt file. */
  static async open(options: DevTangleOptions = {}): Promise<DevTangle> {
    const mwm = options.minWeightMagnitude ?? 9;
    if (!Number.isInteger(mwm) || mwm < 1 || mwm > 81) throw new RangeError('minWeightMagnitude must be an integer 1..81');
    const interval = options.milestoneIntervalMs ?? 0;
    if (!Number.isInteger(interval) || interval < 0) throw new RangeError('milestoneIntervalMs must be an integer >= 0');

    let lock: DirectoryLock | null = null;
    let log: AppendLog<LedgerRecord> | null = null;
    let slots: TransactionSlots = new MemorySlots();
    let records: LedgerRecord[] = [];
    if (options.dataDir !== undefined) {
      await ensurePrivateDir(options.dataDir);
      lock = await DirectoryLock.acquire(options.dataDir);
      try {
        const opened = await AppendLog.open<LedgerRecord>(path.join(options.dataDir, LOG_FILE), { kind: LOG_KIND, version: LOG_VERSION });
        log = opened.log;
        slots = await FileSlots.open(path.join(options.dataDir, SLOTS_FILE));
        records = opened.version < 2 ? await carryOver(log, slots, opened.records as (LedgerRecord | LegacyTxsRecord)[]) : opened.records;
        if (opened.droppedBytes > 0) {
          options.log?.('warn', `${log.file}: dropped ${opened.droppedBytes} bytes of a torn record at the end (never acknowledged)`);
        }
      } catch (err) {
        await log?.close();
        await slots.close();
        await lock.release();
        throw err;
      }
    }
    const tangle = new DevTangle(options, log, slots, lock, new PowPool(options.powWorkers ?? 1));
    try {
      if (records.length === 0) {
        // Genesis funding only counts when the ledger is created (deriving seed addresses is slow, too).
        records = genesisRecords(options);
        await log?.append(records);
      } else if (records[0].type !== 'genesis') {
        throw new StoreError(`${log?.file}: the ledger does not start with its genesis record`);
      }
      // A batch's transactions, read once for its record and the milestone that may follow it.
      let known = new Map<string, StoredTransaction>();
      for (const record of records) {
        if (record.type === 'txs') {
          tangle.checkSlots(record);
          known = new Map();
        }
        tangle.apply(record, known);
      }
      // Slots written for a batch whose record never made it (a crash in between) were never acknowledged.
      await slots.truncate(tangle.slotCount);
      if (options.dev && !tangle.dev) {
        throw new StoreError(`the ledger in ${options.dataDir} was created without development mode; use a new data directory`);
      }
    } catch (err) {
      await tangle.close();
      throw err;
    }
    if (interval > 0) {
      // A failed milestone changes nothing (the state follows the log), so the next tick simply tries again.
      const onFailure = (err: Error): void => options.log?.('error', `milestone failed: ${err.message}`);
      tangle.timer = setInterval(() => void tangle.confirmPending().catch(onFailure), interval);
      tangle.timer.unref();
    }
    return tangle;
  }

  get development(): boolean {
    return this.dev;
  }

  nodeInfo(): NodeInfo {
    return {
      appName: this.dev ? 'm2m-tangle DEVELOPMENT ledger (genesis funds, faucet; not a real network)' : 'm2m-tangle',
      appVersion: APP_VERSION,
      development: this.dev,
      minWeightMagnitude: this.minWeightMagnitude,
      latestMilestone: this.latestMilestone,
      latestMilestoneIndex: this.milestoneIndex,
      latestSolidSubtangleMilestone: this.latestMilestone,
      latestSolidSubtangleMilestoneIndex: this.milestoneIndex,
      milestoneStartIndex: 0,
      lastSnapshottedMilestoneIndex: 0,
      neighbors: 0,
      packetsQueueSize: 0,
      time: Date.now(),
      tips: this.tips.size,
      transactionsToRequest: 0,
      features: this.dev ? ['RemotePOW', 'faucet'] : ['RemotePOW'],
      coordinatorAddress: NULL_HASH,
    };
  }

  /** Simple tip selection: the newest tip (or `reference`) as trunk, a random tip as branch. */
  transactionsToApprove(reference?: string): { trunkTransaction: string; branchTransaction: string } {
    const tips = [...this.tips];
    if (reference !== undefined && !this.bundles.has(reference)) {
      throw new RequestError(`reference transaction ${reference} is not the tail of a valid bundle`);
    }
    const trunkTransaction = reference ?? tips[tips.length - 1] ?? NULL_HASH;
    const branchTransaction = tips.length > 0 ? tips[Math.floor(Math.random() * tips.length)] : NULL_HASH;
    return { trunkTransaction, branchTransaction };
  }

  /** attachToTangle with proof of work on this node's worker threads. */
  async attach(trunk: string, branch: string, minWeightMagnitude: number, trytes: readonly string[]): Promise<string[]> {
    this.assertOpen();
    if (minWeightMagnitude < this.minWeightMagnitude) {
      throw new RequestError(`minWeightMagnitude ${minWeightMagnitude} is below this node's minimum of ${this.minWeightMagnitude}`);
    }
    try {
      return await attachTrytes(trunk, branch, minWeightMagnitude, trytes, { pool: this.pow });
    } catch (err) {
      if (err instanceof PowCancelledError) throw new RequestError('attachToTangle was interrupted', { cause: err });
      if (err instanceof RangeError) throw new RequestError(err.message, { cause: err });
      throw err;
    }
  }

  interruptAttaching(): void {
    this.pow.cancelCurrent();
  }

  /**
   * storeTransactions/broadcastTransactions: validates the transactions and every bundle they complete, then
   * persists them. All or nothing: one invalid transaction or bundle refuses the whole call with a RequestError.
   * Already known transactions are ignored. Resolves after the data (and, with immediate confirmation, the
   * milestone) is fsynced.
   */
  store(trytes: readonly string[]): Promise<void> {
    return this.exclusive(async () => {
      const now = Date.now();
      const batch = new Map<string, StoredTransaction>();
      for (const t of trytes) {
        if (!isTrytes(t, TRANSACTION_TRYTES)) throw new RequestError('Invalid trytes input');
        const hash = hashOf(t);
        if (this.txs.has(hash) || batch.has(hash)) continue;
        batch.set(hash, { trytes: t, tx: ownStrings(checkTransaction(t, hash, this.minWeightMagnitude, { notBeforeMs: this.createdAt, nowMs: now })) });
      }
      if (batch.size === 0) return;
      for (const { tx } of batch.values()) {
        for (const approvee of [tx.trunkTransaction, tx.branchTransaction]) {
          if (approvee !== NULL_HASH && !this.txs.has(approvee) && !batch.has(approvee)) {
            throw new RequestError(`Transaction ${tx.hash} approves unknown transaction ${approvee}`);
          }
        }
      }
      const { accepted, reattached } = await this.checkNewBundles(batch);
      const trytesOfBatch = [...batch.values()].map((b) => b.trytes);
      // The slots first: the log record that names them is what makes them part of the ledger.
      await this.slots.write(this.slotCount, trytesOfBatch);
      const records: LedgerRecord[] = [{ type: 'txs', first: this.slotCount, hashes: [...batch.keys()], sum: checksum(trytesOfBatch), accepted, reattached }];
      if (this.milestoneIntervalMs === 0 && accepted.length > 0) records.push(this.milestoneRecord([...this.pending, ...accepted]));
      await this.persist(records, batch);
    });
  }

  /** Issues a milestone confirming every accepted bundle not yet confirmed. Returns how many it confirmed. */
  confirmPending(): Promise<number> {
    return this.exclusive(async () => {
      const count = this.pending.length;
      if (count > 0) await this.persist([this.milestoneRecord(this.pending)]);
      return count;
    });
  }

  /** Development only: credits `value` to `address` out of thin air, confirmed at once. */
  faucet(address: string, value: number): Promise<void> {
    return this.exclusive(async () => {
      if (!this.dev) throw new RequestError('faucet is disabled: this is not a development ledger');
      checkFunding(address, value, this.minted);
      await this.persist([{ type: 'mint', address, value, reason: 'faucet' }]);
    });
  }

  /**
   * The hashes IRI's findTransactions answers. For one key of one field (the usual query) that is the index's own
   * array, not a copy: read it before the next store, which may add to it.
   */
  findTransactions(query: FindQuery): readonly string[] {
    const fields: [readonly string[] | undefined, Map<string, string[]>][] = [
      [query.addresses, this.byAddress],
      [query.bundles, this.byBundle],
      [query.tags, this.byTag],
      [query.approvees, this.byApprovee],
    ];
    // Within a field any key matches; across fields, IRI keeps the hashes every field matched.
    const perField = fields.flatMap(([keys, index]) => (keys === undefined ? [] : [matching(index, keys)]));
    if (perField.length <= 1) return perField[0] ?? [];
    const others = perField.slice(1).map((hashes) => new Set(hashes));
    return perField[0].filter((hash) => others.every((matches) => matches.has(hash)));
  }

  /** Raw trytes by hash; all 9s for an unknown hash, as IRI. */
  getTrytes(hashes: readonly string[]): string[] {
    return hashes.map((h) => {
      const slot = this.txs.get(h);
      return slot === undefined ? '9'.repeat(TRANSACTION_TRYTES) : this.slots.read(slot);
    });
  }

  /** Confirmed balances (as of the latest milestone). */
  balances(addresses: readonly string[]): { balances: number[]; milestoneIndex: number; references: string[] } {
    return {
      balances: addresses.map((a) => this.confirmedBalances.get(a) ?? 0),
      milestoneIndex: this.milestoneIndex,
      references: [this.latestMilestone],
    };
  }

  /** Whether each transaction belongs to a bundle confirmed by a milestone. */
  inclusionStates(hashes: readonly string[]): boolean[] {
    return hashes.map((h) => {
      const tail = this.tailOf.get(h);
      const milestone = tail === undefined ? undefined : this.bundles.get(tail)?.milestone;
      return typeof milestone === 'number';
    });
  }

  wereAddressesSpentFrom(addresses: readonly string[]): boolean[] {
    return addresses.map((a) => this.spent.has(a));
  }

  /** A tail is consistent when its bundle is complete and was accepted (valid, no negative balance). */
  checkConsistency(tails: readonly string[]): { state: boolean; info: string } {
    for (const tail of tails) {
      const stored = this.stored(tail);
      if (!stored) throw new RequestError(`Invalid tails input: transaction ${tail} is unknown`);
      if (stored.tx.currentIndex !== 0) throw new RequestError(`Invalid tails input: ${tail} is not a tail transaction`);
      if (!this.bundles.has(tail)) return { state: false, info: `tail ${tail}: its bundle is incomplete` };
    }
    return { state: true, info: '' };
  }

  /** Stops the milestone timer and PoW, waits for writes in progress, closes the log and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.pow.close();
    await this.mutex.catch(() => undefined);
    await this.verifier.close();
    await this.log?.close();
    await this.slots.close();
    await this.lock?.release();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the ledger is closed');
  }

  /** Mutations run one at a time, each one validating against the state left by the previous one. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the ledger is closed'));
    const run = this.mutex.then(fn);
    this.mutex = run.catch(() => undefined);
    return run;
  }

  /**
   * Durable first, visible second: the records reach the disk before the state (and any caller) sees them.
   * `batch`: the transactions a txs record names, already parsed, so that applying it reads no slot.
   */
  private async persist(records: LedgerRecord[], batch = new Map<string, StoredTransaction>()): Promise<void> {
    await this.log?.append(records);
    for (const record of records) this.apply(record, batch);
  }

  private milestoneRecord(tails: string[]): LedgerRecord {
    return { type: 'milestone', index: this.milestoneIndex + 1, time: Date.now(), tails };
  }

  /**
   * Finds the bundles the batch completes, in an order where approved bundles come first, and validates each:
   * bundle rules, head approving only null or valid tails, and no balance going negative.
   */
  private async checkNewBundles(batch: Map<string, StoredTransaction>): Promise<{ accepted: string[]; reattached: string[] }> {
    const lookup = (hash: string): StoredTransaction | undefined => batch.get(hash) ?? this.stored(hash);
    // The batch's tails by bundle, then the stored tails of those bundles that no valid bundle holds yet (an
    // earlier batch may have brought a tail whose bundle this one completes): only those are read from the slots.
    const tailsByBundle = new Map<string, StoredTransaction[]>();
    for (const stored of batch.values()) {
      const tails = tailsByBundle.get(stored.tx.bundle) ?? [];
      if (stored.tx.currentIndex === 0) tails.push(stored);
      tailsByBundle.set(stored.tx.bundle, tails);
    }
    const candidates: StoredTransaction[][] = [];
    for (const [bundleHash, tails] of tailsByBundle) {
      for (const hash of this.byBundle.get(bundleHash) ?? []) {
        if (this.tailOf.has(hash)) continue;
        const stored = this.stored(hash) as StoredTransaction;
        if (stored.tx.currentIndex === 0) tails.push(stored);
      }
      for (const tail of tails) {
        const chain = [tail];
        while (chain.length <= tail.tx.lastIndex) {
          const next = lookup(chain[chain.length - 1].tx.trunkTransaction);
          if (!next) break;
          chain.push(next);
        }
        if (chain.length === tail.tx.lastIndex + 1) candidates.push(chain);
      }
    }

    const valid = new Set<string>();
    const balances = new Map<string, number>();
    const acceptedHashes = new Set<string>();
    const accepted: string[] = [];
    const reattached: string[] = [];
    const isValidTail = (hash: string): boolean => hash === NULL_HASH || this.bundles.has(hash) || valid.has(hash);
    let remaining = candidates;
    while (remaining.length > 0) {
      const waiting: StoredTransaction[][] = [];
      for (const chain of remaining) {
        const head = chain[chain.length - 1].tx;
        const approvees = [head.trunkTransaction, head.branchTransaction];
        if (!approvees.every(isValidTail)) {
          waiting.push(chain);
          continue;
        }
        await checkBundle(chain, this.verifier);
        const tail = chain[0].tx;
        valid.add(tail.hash);
        if (this.acceptedBundleHashes.has(tail.bundle) || acceptedHashes.has(tail.bundle)) {
          reattached.push(tail.hash);
          continue;
        }
        for (const [address, diff] of bundleDiff(chain.map((c) => c.tx))) {
          const balance = (balances.get(address) ?? this.acceptedBalances.get(address) ?? 0) + diff;
          if (balance < 0) {
            throw new RequestError(
              `Bundle ${tail.bundle} is inconsistent: insufficient balance on ${address} ` +
                `(it spends ${-diff}, the address holds ${balance - diff}): a double spend, or an older state of a spent address`,
            );
          }
          balances.set(address, balance);
        }
        acceptedHashes.add(tail.bundle);
        accepted.push(tail.hash);
      }
      if (waiting.length === remaining.length) {
        const head = waiting[0][waiting[0].length - 1].tx;
        throw new RequestError(`Bundle ${head.bundle} is inconsistent: its head approves a transaction that is not the tail of a valid bundle`);
      }
      remaining = waiting;
    }
    return { accepted, reattached };
  }

  /** `known`: transactions parsed already (the batch of a txs record); the ones read from slots are added to it. */
  private apply(record: LedgerRecord, known: Map<string, StoredTransaction>): void {
    switch (record.type) {
      case 'genesis':
        this.createdAt = record.createdAt;
        this.dev = record.dev;
        break;
      case 'mint':
        addTo(this.acceptedBalances, record.address, record.value);
        addTo(this.confirmedBalances, record.address, record.value);
        this.minted += record.value;
        break;
      case 'txs':
        record.hashes.forEach((hash, i) => this.index(hash, record.first + i, known));
        this.slotCount = record.first + record.hashes.length;
        for (const tail of record.accepted) this.registerBundle(tail, true, known);
        for (const tail of record.reattached) this.registerBundle(tail, false, known);
        break;
      case 'milestone': {
        for (const tail of record.tails) {
          const entry = this.bundles.get(tail) as BundleEntry;
          entry.milestone = record.index;
          for (const [address, diff] of bundleDiff(entry.hashes.map((h) => this.txOf(h, known)))) addTo(this.confirmedBalances, address, diff);
        }
        const confirmed = new Set(record.tails);
        this.pending = this.pending.filter((t) => !confirmed.has(t));
        this.milestoneIndex = record.index;
        this.latestMilestone = record.tails[record.tails.length - 1];
        break;
      }
    }
  }

  /** On open: a batch's record must name the next slots, and their trytes must be the ones it was written with. */
  private checkSlots(record: TxsRecord): void {
    if (record.first !== this.slotCount || this.slots.checksumOf(record.first, record.hashes.length) !== record.sum) {
      throw new StoreError(`the transactions in slots ${record.first}..${record.first + record.hashes.length - 1} are damaged or missing; restore the data directory from a backup`);
    }
  }

  private index(hash: string, slot: number, known: Map<string, StoredTransaction>): void {
    this.txs.set(hash, slot);
    const tx = this.txOf(hash, known);
    addToIndex(this.byAddress, tx.address, hash);
    addToIndex(this.byBundle, tx.bundle, hash);
    addToIndex(this.byTag, tx.tag, hash);
    addToIndex(this.byApprovee, tx.trunkTransaction, hash);
    if (tx.branchTransaction !== tx.trunkTransaction) addToIndex(this.byApprovee, tx.branchTransaction, hash);
  }

  private registerBundle(tail: string, counts: boolean, known: Map<string, StoredTransaction>): void {
    const txs = [this.txOf(tail, known)];
    while (txs.length <= txs[0].lastIndex) txs.push(this.txOf(txs[txs.length - 1].trunkTransaction, known));
    const hashes = txs.map((tx) => tx.hash);
    this.bundles.set(tail, { hashes, counts, milestone: null });
    for (const hash of hashes) this.tailOf.set(hash, tail);
    const head = txs[txs.length - 1];
    this.tips.delete(head.trunkTransaction);
    this.tips.delete(head.branchTransaction);
    this.tips.add(tail);
    if (!counts) return;
    this.acceptedBundleHashes.add(txs[0].bundle);
    for (const [address, diff] of bundleDiff(txs)) {
      addTo(this.acceptedBalances, address, diff);
      if (diff < 0) this.spent.add(address);
    }
    this.pending.push(tail);
  }

  /** A stored transaction, read from its slot; undefined when unknown. */
  private stored(hash: string): StoredTransaction | undefined {
    const slot = this.txs.get(hash);
    if (slot === undefined) return undefined;
    const trytes = this.slots.read(slot);
    return { trytes, tx: ownStrings(asTransactionObject(trytes, hash)) };
  }

  /** A stored transaction from `known`, or read from its slot and kept in `known` for the rest of the record(s). */
  private txOf(hash: string, known: Map<string, StoredTransaction>): Transaction {
    let stored = known.get(hash);
    if (!stored) {
      stored = this.stored(hash) as StoredTransaction;
      known.set(hash, stored);
    }
    return stored.tx;
  }
}

/**
 * The transaction with strings of its own where the ledger keeps them as keys: asTransactionObject's fields are
 * slices of the trytes, and one slice kept in an index would keep all 2673 trytes in memory.
 */
function ownStrings(tx: Transaction): Transaction {
  const own = (s: string): string => Buffer.from(s, 'latin1').toString('latin1');
  return { ...tx, address: own(tx.address), bundle: own(tx.bundle), tag: own(tx.tag), trunkTransaction: own(tx.trunkTransaction), branchTransaction: own(tx.branchTransaction) };
}

/**
 * Carries a version-1 ledger (the trytes in its log) over to slots: writes them, then replaces the log, atomically,
 * with records that name the slots. A crash in between leaves the version-1 log, carried over again next time.
 */
async function carryOver(log: AppendLog<LedgerRecord>, slots: TransactionSlots, legacy: (LedgerRecord | LegacyTxsRecord)[]): Promise<LedgerRecord[]> {
  const trytes: string[] = [];
  const records = legacy.map((record): LedgerRecord => {
    if (record.type !== 'txs' || !('txs' in record)) return record;
    const batch = record.txs.map((t) => t.trytes);
    const first = trytes.push(...batch) - batch.length;
    return { type: 'txs', first, hashes: record.txs.map((t) => t.hash), sum: checksum(batch), accepted: record.accepted, reattached: record.reattached };
  });
  await slots.write(0, trytes);
  await log.rewrite({ kind: LOG_KIND, version: LOG_VERSION }, records);
  return records;
}

/** Net value per address of one bundle. */
function bundleDiff(txs: readonly Transaction[]): Map<string, number> {
  const diff = new Map<string, number>();
  for (const tx of txs) if (tx.value !== 0) addTo(diff, tx.address, tx.value);
  return diff;
}

/** The hashes of `keys` in one index, in index order and each once (a transaction's trunk and branch are two keys). */
function matching(index: Map<string, string[]>, keys: readonly string[]): readonly string[] {
  if (keys.length === 1) return index.get(keys[0]) ?? [];
  return [...new Set(keys.flatMap((key) => index.get(key) ?? []))];
}

function addTo(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

/** Each transaction is indexed once per key, so the arrays hold no duplicates. */
function addToIndex(index: Map<string, string[]>, key: string, hash: string): void {
  const hashes = index.get(key);
  if (hashes) hashes.push(hash);
  else index.set(key, [hash]);
}

function checkFunding(address: string, value: number, alreadyMinted: number): void {
  if (!isHash(address) || !hasValueAddress(address)) throw new RequestError(`Invalid address ${String(address)}: 81 trytes, last trit 0`);
  if (!Number.isSafeInteger(value) || value <= 0) throw new RequestError(`Invalid value ${String(value)}: a positive integer`);
  if (alreadyMinted + value > SUPPLY) throw new RequestError('Invalid value: the total would exceed the IOTA supply');
}

function genesisRecords(options: DevTangleOptions): LedgerRecord[] {
  const funding = options.genesis ?? [];
  if (funding.length > 0 && !options.dev) throw new RangeError('genesis funding needs development mode (dev: true)');
  const records: LedgerRecord[] = [{ type: 'genesis', createdAt: Date.now(), dev: options.dev === true }];
  let minted = 0;
  for (const fund of funding) {
    const addresses =
      'address' in fund
        ? [fund.address]
        : Array.from({ length: fund.count ?? 1 }, (_, i) => {
            if (!isHash(fund.seed)) throw new RangeError('a genesis seed must be 81 trytes');
            return address(fund.seed, i, fund.security ?? 2);
          });
    for (const address of addresses) {
      try {
        checkFunding(address, fund.value, minted);
      } catch (err) {
        throw new RangeError(`genesis: ${(err as Error).message}`, { cause: err });
      }
      minted += fund.value;
      records.push({ type: 'mint', address, value: fund.value, reason: 'genesis' });
    }
  }
  return records;
}
