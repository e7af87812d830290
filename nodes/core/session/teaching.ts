import { levelOf } from '../flash/tree';
import type { ChannelState, Party } from '../flash';
import type { Role } from '../protocol';
import type { SessionSnapshot } from './types';

/** What just happened to the channel, in the order a session goes through them. */
export type ChannelStep =
  | 'setup' // both parties' digests are in: the tree's first branch and the deposit (root) address exist
  | 'proposed' // the payer signed its half of the next state and sent it
  | 'cosigned' // the payee checked the proposal and added its signature
  | 'completed' // the state carries both signatures: it replaces the previous one, off the Tangle
  | 'funded' // both deposits are confirmed on the Tangle, in the root address
  | 'settling' // the final state is co-signed and its bundles are being attached to the Tangle
  | 'settled'; // the Tangle confirmed the settlement: the channel is closed

/** One multisig address of the tree. */
export interface ChannelViewNode {
  /** Heap position: the root is 1, the children of n are 2n and 2n + 1. */
  id: number;
  level: number;
  /** The 2-of-2 multisig address, null until both digests are known. */
  address: string | null;
  /** Distinct bundles the address has signed (at most two). */
  uses: number;
}

/**
 * The channel as an educator shows it, after each step: both deposits, the tree of multisig addresses with the
 * latest state's path, the payment being co-signed (who signed, and how long the co-signature took), what stays
 * off the Tangle and what went on it, and both balances. Plain data: the `channel` event of a party.
 */
export interface ChannelView {
  sessionId: string;
  /** The side that reports it. */
  role: Role;
  step: ChannelStep;
  /** Co-signed states so far. */
  seq: number;
  /** Levels below the root. */
  depth: number;
  depositAddress: string | null;
  deposits: { vehicle: number; station: number };
  balances: { vehicle: number; station: number };
  nodes: ChannelViewNode[];
  /** The latest co-signed state's bundles, root first: the path from the root to the current leaf. */
  path: number[];
  /** The state being signed ('proposed', 'cosigned') or just completed: who proposed, who co-signed, how long. */
  payment: { seq: number; amount: number; close: boolean; proposer: Role; cosigner: Role; ms: number | null } | null;
  /** Co-signed states kept by both parties, never sent to the Tangle (all but the last are obsolete). */
  offTangle: { states: number; bundles: number };
  /** On the Tangle: the deposits once confirmed, the settlement bundles once attached. */
  onTangle: { deposits: boolean; settlement: string[] };
}

const roleOf = (party: Party): Role => (party === 0 ? 'vehicle' : 'station');

/**
 * Turns a party's successive snapshots into channel views. It remembers when the pending state appeared, to say
 * how long its co-signature took (in memory only: a restart forgets it, and the view says null).
 */
export class ChannelNarrator {
  private pendingSince: { seq: number; at: number } | null = null;

  /** The views of what changed from `previous` to `next`, in order (one step of a party can do two things). */
  views(previous: SessionSnapshot | undefined, next: SessionSnapshot, now: number): ChannelView[] {
    const before = previous?.channel ?? null;
    // The settled session is replaced by an empty one: show the channel as it was, now on the Tangle.
    if (previous?.phase === 'settling' && next.phase === 'idle' && before) return [this.describe(previous, before, 'settled', null)];
    const channel = next.channel;
    if (!channel || !channel.nodes[1]?.address) return [];
    const views: ChannelView[] = [];
    if (!before?.nodes[1]?.address) views.push(this.describe(next, channel, 'setup', null));
    if (before?.pending && channel.seq > before.seq) {
      const since = this.pendingSince?.seq === before.pending.seq ? this.pendingSince.at : null;
      views.push(this.describe(next, channel, next.phase === 'settling' ? 'settling' : 'completed', since === null ? null : now - since, before));
    }
    const pending = channel.pending;
    if (pending && pending.seq !== before?.pending?.seq) {
      this.pendingSince = { seq: pending.seq, at: now };
      views.push(this.describe(next, channel, pending.role === 'proposer' ? 'proposed' : 'cosigned', null));
    }
    if (next.phase === 'charging' && previous?.phase === 'funding') views.push(this.describe(next, channel, 'funded', null));
    return views;
  }

  private describe(snapshot: SessionSnapshot, channel: ChannelState, step: ChannelStep, ms: number | null, before?: ChannelState): ChannelView {
    const pending = (before ?? channel).pending;
    const proposer = pending ? (pending.role === 'proposer' ? channel.self : ((1 - channel.self) as Party)) : null;
    const funded = snapshot.phase !== 'opening' && snapshot.phase !== 'funding';
    return {
      sessionId: snapshot.sessionId,
      role: roleOf(channel.self),
      step,
      seq: channel.seq,
      depth: channel.depth,
      depositAddress: channel.nodes[1]?.address ?? null,
      deposits: { vehicle: channel.deposits[0], station: channel.deposits[1] },
      balances: { vehicle: channel.balances[0], station: channel.balances[1] },
      nodes: Object.entries(channel.nodes)
        .map(([id, node]) => ({ id: Number(id), level: levelOf(Number(id)), address: node.address, uses: node.signedBundles.length }))
        .sort((a, b) => a.id - b.id),
      path: channel.chain.map((bundle) => bundle.node),
      payment:
        pending && proposer !== null
          ? { seq: pending.seq, amount: pending.transfer.amount, close: pending.close, proposer: roleOf(proposer), cosigner: roleOf((1 - proposer) as Party), ms }
          : null,
      offTangle: { states: step === 'settled' ? 0 : channel.seq, bundles: step === 'settled' ? 0 : channel.chain.length },
      // Settled, the final state is what went on the Tangle (a vehicle keeps no settlement of its own).
      onTangle: { deposits: funded, settlement: snapshot.settlement?.bundles ?? (step === 'settled' ? channel.chain.map((b) => b.hash) : []) },
    };
  }
}
