import { depositAddress, settlementBundles, type ChannelState } from '../flash';
import type { Wallet } from '../wallet';

/** A spend from one of the channel's addresses by a bundle that is not our latest state. */
export class OldStateError extends Error {
  override readonly name = 'OldStateError';
  constructor(readonly bundles: string[]) {
    super(`an older channel state was attached to the Tangle (bundle ${bundles[0]?.slice(0, 12)}…)`);
  }
}

/**
 * A party's reads and writes of the Tangle for its channel: the deposits, attaching the latest co-signed state,
 * its confirmation, and older states attached instead. Waits poll every `pollMs` until `stopped()` says so.
 */
export class ChannelTangle {
  constructor(
    private readonly wallet: Wallet,
    private readonly pollMs: number,
    private readonly stopped: () => boolean,
    /** Names a step for fault injection (the party's `onStep`). */
    private readonly reached: (label: string) => void,
  ) {}

  sleep(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.pollMs));
  }

  /** What the channel's deposit address holds, confirmed. */
  async depositHeld(channel: ChannelState): Promise<number> {
    const { balances } = await this.wallet.api.getBalances([depositAddress(channel)]);
    return Number(balances[0]);
  }

  /** Whether the channel's deposit address holds both deposits. */
  async fullyFunded(channel: ChannelState): Promise<boolean> {
    return (await this.depositHeld(channel)) >= channel.deposits[0] + channel.deposits[1];
  }

  /** Polls until the channel's deposit address holds both deposits. */
  async waitFunded(channel: ChannelState): Promise<void> {
    while (!this.stopped()) {
      if (await this.fullyFunded(channel)) return;
      await this.sleep();
    }
    throw new Error('stopped while waiting for the deposits');
  }

  /**
   * Our deposit, if it left before a crash: a transfer of `value` to `address` from one of the addresses our wallet
   * still knows. Only for a journal written before the wallet kept deposit receipts (see Party.depositOnce).
   */
  async findOwnDeposit(address: string, value: number): Promise<string | null> {
    const api = this.wallet.api;
    const ours = new Set(this.wallet.addresses().map((a) => a.address));
    const incoming = await api.getTransactionObjects(await api.findTransactions({ addresses: [address] }));
    for (const bundle of new Set(incoming.filter((tx) => tx.value === value).map((tx) => tx.bundle))) {
      const txs = await api.getTransactionObjects(await api.findTransactions({ bundles: [bundle] }));
      if (txs.some((tx) => tx.value < 0 && ours.has(tx.address))) return txs.find((tx) => tx.currentIndex === 0)!.hash;
    }
    return null;
  }

  /**
   * Attaches the channel's latest co-signed state (as settlementBundles orders it: root first) and returns the
   * tails. A bundle already on the Tangle (attached by the peer, or by us before a crash) is not attached again.
   */
  async attachLatest(channel: ChannelState): Promise<string[]> {
    const { depth, minWeightMagnitude } = this.wallet.tangleSettings;
    const bundles = settlementBundles(channel);
    const tails: string[] = [];
    for (let i = 0; i < bundles.length; i++) {
      const existing = await this.tailsOf(channel.chain[i].hash);
      if (existing.length > 0) {
        tails.push(existing[0]);
        continue;
      }
      // Each bundle approves its parent's tail, so a node sees the chain in one cone, as the engine advises.
      const reference = tails.at(-1);
      try {
        const sent = await this.wallet.api.sendTrytes(bundles[i], depth, minWeightMagnitude, ...(reference ? [reference] : []));
        tails.push(sent.find((tx) => tx.currentIndex === 0)!.hash);
      } catch (err) {
        // The peer attached the same bundle a moment earlier (the ledger refuses it twice), or an older state won.
        const attached = await this.tailsOf(channel.chain[i].hash);
        if (attached.length > 0) {
          tails.push(attached[0]);
          continue;
        }
        const foreign = await this.foreignSpends(channel, true);
        if (foreign.length > 0) throw new OldStateError(foreign);
        throw err;
      }
    }
    this.reached('settlement attached');
    return tails;
  }

  /** Whether every bundle of the channel's latest state is on the Tangle, attached by either side. */
  async isAttached(channel: ChannelState): Promise<boolean> {
    for (const { hash } of channel.chain) if ((await this.tailsOf(hash)).length === 0) return false;
    return true;
  }

  private async tailsOf(bundle: string): Promise<string[]> {
    const api = this.wallet.api;
    const hashes = await api.findTransactions({ bundles: [bundle] });
    if (hashes.length === 0) return [];
    return (await api.getTransactionObjects(hashes)).filter((tx) => tx.currentIndex === 0).map((tx) => tx.hash);
  }

  /**
   * Whether every bundle of the latest state is confirmed, by bundle hash (any of its attachments counts: a
   * reattachment of an accepted bundle is never confirmed itself). Throws OldStateError when another bundle
   * spending one of the channel's addresses is confirmed instead.
   */
  async isSettled(channel: ChannelState): Promise<boolean> {
    const api = this.wallet.api;
    for (const { hash } of channel.chain) {
      const hashes = await api.findTransactions({ bundles: [hash] });
      if (hashes.length === 0 || !(await api.getInclusionStates(hashes)).some(Boolean)) {
        const foreign = await this.foreignSpends(channel, true);
        if (foreign.length > 0) throw new OldStateError(foreign);
        return false;
      }
    }
    return true;
  }

  /** Polls until the latest state is confirmed (see isSettled). */
  async waitSettled(channel: ChannelState): Promise<void> {
    while (!this.stopped()) {
      if (await this.isSettled(channel)) return;
      await this.sleep();
    }
    throw new Error('stopped while waiting for the Tangle');
  }

  /**
   * Bundles on the Tangle that spend one of the channel's used addresses and are not part of its latest state
   * (nor of the state being signed): an older state, attached by the peer.
   */
  async foreignSpends(channel: ChannelState, confirmedOnly = false): Promise<string[]> {
    const api = this.wallet.api;
    const addresses = Object.values(channel.nodes)
      .filter((n) => n.signedBundles.length > 0 && n.address)
      .map((n) => n.address!);
    if (addresses.length === 0) return [];
    const known = new Set([...channel.chain.map((b) => b.hash), ...(channel.pending?.bundles.map((b) => b.hash) ?? [])]);
    const hashes = await api.findTransactions({ addresses });
    if (hashes.length === 0) return [];
    const txs = await api.getTransactionObjects(hashes);
    const spends = txs.filter((tx) => tx.value < 0 && !known.has(tx.bundle));
    if (spends.length === 0) return [];
    const states = confirmedOnly ? await api.getInclusionStates(spends.map((tx) => tx.hash)) : spends.map(() => true);
    return [...new Set(spends.filter((_, i) => states[i]).map((tx) => tx.bundle))];
  }
}
