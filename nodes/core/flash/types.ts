/**
 * The plain data of a Flash channel: the persisted state and the messages between the two parties. Everything
 * here survives `JSON.parse(JSON.stringify(x))` unchanged: strings, integers, booleans, arrays and plain objects.
 * No seed ever appears in it.
 */

/** 0 = the party that opened the channel, 1 = the one that accepted. Digests are always absorbed in this order. */
export type Party = 0 | 1;

export type SecurityLevel = 1 | 2 | 3;

/**
 * What the engine needs from the wallet that owns the seed. The wallet must persist its key-index counter before
 * it returns indices, and must never hand out an index twice, or use one for anything else.
 */
export interface KeyHolder {
  /** 81 trytes. Used only in memory, to derive keys; never stored or sent. */
  readonly seed: string;
  /** Returns `count` fresh, never used key indices (non-negative integers). */
  allocateKeyIndices(count: number): number[];
}

/** One node of the binary tree; ids are heap positions: root = 1, children of n are 2n and 2n + 1. */
export interface TreeNode {
  /** Each party's WOTS digests for this node (security x 81 trytes), null until received/derived. */
  digests: [string | null, string | null];
  /** The key index our side used for this node's digest (our wallet needs it to sign); -1 until we derive it. */
  keyIndex: number;
  /** Kerl(digest0 + digest1): the 2-of-2 multisig address, once both digests are known. */
  address: string | null;
  /** Hashes of the distinct bundles this address has signed (or we have co-signed), at most two. */
  signedBundles: string[];
}

/** One fully co-signed bundle of a state: `node` spends the whole channel balance. */
export interface SignedBundle {
  node: number;
  hash: string;
  /** Transaction trytes in currentIndex order (tail first). */
  trytes: string[];
}

/** A transfer between the parties. `amount` may be 0 (e.g. an opening refund state signed before depositing). */
export interface Transfer {
  from: Party;
  amount: number;
}

/** Unsigned bundles of a state under negotiation. */
export interface PendingBundle {
  node: number;
  hash: string;
  /** Transaction trytes in currentIndex order, signature fragments empty. */
  trytes: string[];
}

export interface PendingState {
  /** 'proposer': we proposed and await the co-signature. 'cosigner': we co-signed and await the completion. */
  role: 'proposer' | 'cosigner';
  seq: number;
  transfer: Transfer;
  close: boolean;
  timestamp: number;
  balances: [number, number];
  /**
   * The chain after this state: the first `reuse` bundles of the latest state's chain, then the new ones. A count,
   * not the bundles: they are in the chain already, and the journal would write their trytes a second time.
   */
  reuse: number;
  /** Instead of `reuse`, in states saved by version 0.1.0: those bundles themselves. */
  reused?: SignedBundle[];
  bundles: PendingBundle[];
  /** Our signature fragments for `bundles` (cosigner only: kept so a repeated proposal gets the same answer). */
  signatures?: string[][];
}

export interface ChannelState {
  version: 1;
  channelId: string;
  /** Our party index. */
  self: Party;
  security: SecurityLevel;
  /** Levels below the root; the leaves are at this level. */
  depth: number;
  /** What each party deposits into the root (deposit) address, by party index. */
  deposits: [number, number];
  settlementAddresses: [string, string];
  /** Tree nodes that exist so far, by heap id. Created lazily, a branch at a time. */
  nodes: Record<string, TreeNode>;
  /** Number of co-signed states so far; the next state has seq + 1. */
  seq: number;
  /** Each party's balance in the latest co-signed state (the deposits before the first one). */
  balances: [number, number];
  /** Issuance timestamp (s) of the latest state; a new one may not be older. */
  timestamp: number;
  /** The latest co-signed state: bundles from the root down, the last one pays the settlement addresses. */
  chain: SignedBundle[];
  closed: boolean;
  pending: PendingState | null;
}

export interface NodeDigest {
  node: number;
  digest: string;
}

/** Party 0 → party 1: the channel terms and party 0's digests for the first branch (root to first leaf). */
export interface SetupOffer {
  type: 'setup-offer';
  version: 1;
  channelId: string;
  security: SecurityLevel;
  depth: number;
  deposits: [number, number];
  settlementAddress: string;
  digests: NodeDigest[];
}

/** Party 1 → party 0: party 1's settlement address and digests for the first branch. */
export interface SetupAccept {
  type: 'setup-accept';
  channelId: string;
  settlementAddress: string;
  digests: NodeDigest[];
}

/**
 * Proposer → cosigner: the next state, unsigned. It carries the proposer's digests for the branch the tree will
 * need at its next advance, so that the advance itself never waits for an extra exchange.
 */
export interface Proposal {
  type: 'proposal';
  channelId: string;
  seq: number;
  transfer: Transfer;
  close: boolean;
  /** Issuance timestamp (s) written into every new bundle. */
  timestamp: number;
  /**
   * The new bundles' hashes: the cosigner rebuilds the bundles from the transfer and the timestamp, and signs only
   * its rebuild, so a proposal names them and need not carry them (a tenth of the bytes to sign, check and send).
   */
  bundleHashes?: string[];
  /** Or, as proposals before the hashes did, the new bundles, each as transaction trytes in currentIndex order. */
  bundles?: string[][];
  digests: NodeDigest[];
}

/** Cosigner → proposer: the cosigner's signature fragments for each new bundle, and its digests sent ahead. */
export interface Cosignature {
  type: 'cosignature';
  channelId: string;
  seq: number;
  bundleHashes: string[];
  /** Per bundle, `security` fragments of 2187 trytes. */
  signatures: string[][];
  digests: NodeDigest[];
}

/** Proposer → cosigner: the proposer's fragments; after it both hold the fully co-signed state. */
export interface Completion {
  type: 'completion';
  channelId: string;
  seq: number;
  bundleHashes: string[];
  signatures: string[][];
}
