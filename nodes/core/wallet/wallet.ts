import type { KeyHolder } from '../flash';
import { parseBundle } from '../flash/bundles';
import { address as addressOf } from '../iota/wots';
import { bundlePreparer } from './prepare';
import { isValidSeed, redactSeed, seedFingerprint } from './seed';
import type { IotaApi, TangleConnection, TangleSettings } from './tangle-connection';
import { PendingSend, WalletAddress, WalletStore } from './wallet-store';

export type SecurityLevel = 1 | 2 | 3;

export interface WalletOptions {
  seed: string;
  security: SecurityLevel;
  /** Where the wallet's key counter and address list live (the Node-RED user directory by default). */
  dataDir: string;
  tangle: TangleConnection;
}

export interface Balance {
  /** Sum over the wallet's addresses, confirmed by the node, in IOTA tokens. */
  total: number;
  addresses: { address: string; balance: number }[];
}

export interface SentBundle {
  bundle: string;
  /** Hash of the bundle's tail transaction, to ask the node whether it is confirmed. */
  tail: string;
}

/** Funded addresses a send leaves alone besides those it needs; it gathers any more into its change. */
const SPARE_ADDRESSES = 2;

export class WalletError extends Error {
  override readonly name = 'WalletError';
}

/**
 * A single-signature IOTA wallet for one seed, plus the key-index counter the channel engine draws from.
 *
 * The seed is held in a private field only. It is reachable through the `seed` getter (the channel engine needs
 * it to sign), which, living on the prototype, never shows in JSON, util.inspect or a Node-RED debug message.
 * Every error that leaves the wallet has the seed redacted.
 */
export class Wallet implements KeyHolder {
  readonly #seed: string;
  readonly security: SecurityLevel;
  readonly fingerprint: string;
  private readonly store: WalletStore;
  private readonly tangle: TangleConnection;
  private closed = false;

  constructor(options: WalletOptions) {
    if (!isValidSeed(options.seed)) throw new WalletError('the seed must be exactly 81 characters A-Z and 9');
    if (![1, 2, 3].includes(options.security)) throw new WalletError('the security level must be 1, 2 or 3');
    this.#seed = options.seed;
    this.security = options.security;
    this.fingerprint = seedFingerprint(options.seed);
    this.store = WalletStore.open(options.dataDir, this.fingerprint);
    this.tangle = options.tangle;
  }

  get seed(): string {
    return this.#seed;
  }

  get api(): IotaApi {
    return this.tangle.api;
  }

  /** Depth and minimum weight magnitude for attaching, as the Tangle is configured. */
  get tangleSettings(): TangleSettings {
    return this.tangle.settings;
  }

  /** Fresh key indices for the channel engine; persisted before they are returned. */
  allocateKeyIndices(count: number): number[] {
    return this.store.allocate(count);
  }

  /**
   * Every address of this wallet that it still knows, to recognise its own bundles: the ones it asks the Tangle
   * about, and the last few spent ones seen empty (older ones are forgotten: they hold nothing and never sign again).
   */
  addresses(): readonly WalletAddress[] {
    return [...this.store.retired(), ...this.store.addresses()];
  }

  /** A new address of this wallet (at a never-used key index), e.g. for a channel's settlement. */
  newAddress(): Promise<string> {
    return this.exclusive(async () => this.addressAtFreshIndex());
  }

  /** The address that receives funds when the wallet holds none yet (faucet, a first top-up). */
  async receiveAddress(): Promise<string> {
    const unspent = this.store.addresses().find((a) => !a.spent);
    return unspent ? unspent.address : this.newAddress();
  }

  /**
   * Development ledgers only: credits the wallet from the faucet until it holds `target` tokens, so that demos run
   * without a funded account. Returns what was added (0 when the wallet already held enough).
   */
  async topUpFromFaucet(target: number): Promise<number> {
    const { total } = await this.balance();
    if (total >= target) return 0;
    const missing = target - total;
    await this.guard(this.tangle.faucet(await this.receiveAddress(), missing));
    return missing;
  }

  /**
   * What the wallet holds, confirmed. A spent address seen empty here (its spend is confirmed) is retired: it is
   * never asked about again, so the query stays as short as the addresses that can still hold funds.
   */
  async balance(): Promise<Balance> {
    const live = this.store.addresses();
    if (live.length === 0) return { total: 0, addresses: [] };
    const { balances } = await this.guard(this.api.getBalances(live.map((a) => a.address)));
    const rows = live.map((a, i) => ({ address: a.address, balance: Number(balances[i]) }));
    // Spent before the question was asked, so an empty answer means the spend is confirmed.
    if (!this.closed) this.store.retire(live.filter((a, i) => a.spent && rows[i].balance === 0).map((a) => a.address));
    return { total: rows.reduce((sum, r) => sum + r.balance, 0), addresses: rows };
  }

  /**
   * Sends `value` tokens to `address` (a channel's deposit address, say), spending whole addresses of this wallet
   * and sending the change to a fresh one. Resolves once the node has accepted the bundle, not yet confirmed it.
   *
   * A send that failed or was cut off after its inputs were marked spent (the node unreachable, a crash during the
   * proof of work) is finished first, with the bundle signed then: the next send to the same address and value
   * is that send (so a retry never pays twice), and any other is sent before the new one.
   *
   * With `once` (a channel deposit), the wallet sends to `address` at most once until `forgetSentOnce(address)`:
   * the receipt is written in the same step that forgets the pending send, so a caller that crashed before recording
   * it gets the same send back, however many sends and retired addresses came in between.
   */
  send(address: string, value: number, options: { once?: boolean } = {}): Promise<SentBundle> {
    if (!Number.isSafeInteger(value) || value <= 0) return Promise.reject(new WalletError(`invalid amount ${value}: a positive integer`));
    return this.exclusive(async () => {
      const done = options.once ? this.store.sentOnce(address) : undefined;
      if (done) return { bundle: done.bundle, tail: done.tail };
      let retried: SentBundle | null = null;
      for (const pending of this.store.pending()) {
        const sent = await this.finish(pending);
        if (sent && !retried && pending.address === address && pending.value === value) retried = sent;
      }
      if (retried) return retried;
      const { addresses } = await this.balance();
      const byAddress = new Map(this.store.addresses().map((a) => [a.address, a]));
      const funded = addresses.flatMap((row) => {
        const own = byAddress.get(row.address);
        return own && !own.spent && row.balance > 0 ? [{ address: row.address, keyIndex: own.index, security: this.security, balance: row.balance }] : [];
      });
      let needed = 0;
      for (let sum = 0; sum < value && needed < funded.length; needed++) sum += funded[needed].balance;
      // Beyond a few spare addresses (which another send may use before this one is confirmed), the send gathers
      // the rest into its change: funds received session after session never scatter over ever more addresses.
      const inputs = funded.slice(0, Math.max(needed, funded.length - SPARE_ADDRESSES));
      const gathered = inputs.reduce((sum, input) => sum + input.balance, 0);
      if (gathered < value) throw new WalletError(`insufficient funds: ${value} requested, ${gathered} available`);
      const change = gathered > value ? this.addressAtFreshIndex() : undefined;
      const trytes = await this.guard(bundlePreparer.run({ seed: this.#seed, transfers: [{ address, value }], inputs, remainderAddress: change }));
      // Mark the inputs spent before the bundle leaves: a crash after sending must never let them sign again. The
      // signed bundle is kept with the mark, so that an interrupted send can be finished instead of stranding them.
      const pending = { address, value, trytes: [...trytes], ...(options.once ? { once: true } : {}) };
      this.store.markSpent(inputs.map((i) => i.address), pending);
      return (await this.finish(pending))!;
    });
  }

  /**
   * Brings a signed bundle to the Tangle (unless it is there already) and forgets it; null when it can never get
   * there (its inputs no longer hold what it spends).
   */
  private async finish(pending: PendingSend): Promise<SentBundle | null> {
    const txs = parseBundle(pending.trytes);
    const bundle = txs[0].bundle;
    const attached = await this.guard(this.api.findTransactions({ bundles: [bundle] }));
    let tail = attached.length > 0 ? (await this.guard(this.api.getTransactionObjects(attached))).find((tx) => tx.currentIndex === 0)?.hash : undefined;
    if (!tail) {
      const inputs = txs.filter((tx) => tx.value < 0);
      const { balances } = await this.guard(this.api.getBalances(inputs.map((tx) => tx.address)));
      if (inputs.some((tx, i) => Number(balances[i]) < -tx.value)) {
        this.store.settled(pending);
        return null;
      }
      const { depth, minWeightMagnitude } = this.tangle.settings;
      const sent = await this.guard(this.api.sendTrytes(pending.trytes, depth, minWeightMagnitude));
      tail = sent.find((tx) => tx.currentIndex === 0)!.hash;
    }
    this.store.settled(pending, { bundle, tail });
    return { bundle, tail };
  }

  /** Lets the wallet forget the receipt of a send made `once` to `address`: its caller has recorded it. */
  forgetSentOnce(address: string): void {
    // A closed wallet no longer holds the file: the receipt stays, harmless, until the next wallet forgets it.
    if (!this.closed) this.store.forgetSentOnce(address);
  }

  /** An address at a never-used key index, recorded in the wallet; callers hold the wallet's turn. */
  private addressAtFreshIndex(): string {
    const [index] = this.store.allocate(1);
    const address = addressOf(this.#seed, index, this.security);
    this.store.addAddress(index, address);
    return address;
  }

  /**
   * Refuses new sends and addresses, and resolves once the work in flight (of any wallet on this seed) is done, so
   * that a redeployed node's successor starts after it. Key indices are still handed out, from the shared counter,
   * to a channel step that is finishing.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.store.inTurn(async () => undefined);
    this.store.release();
  }

  /** Keeps two sends (of this wallet or of another on the same seed) from picking the same inputs. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new WalletError('the wallet is closed (its node was redeployed or stopped)'));
    return this.store.inTurn(work);
  }

  /** Any failure below the wallet leaves it with the seed redacted. */
  private async guard<T>(work: PromiseLike<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      const message = redactSeed(err instanceof Error ? err.message : String(err), this.#seed);
      throw new WalletError(message);
    }
  }
}
