import type { ChannelState } from './types';

/**
 * The shape of the binary tree and which bundles the next state needs. Pure bookkeeping, no crypto.
 *
 * Node ids are heap positions: the root is 1, the children of n are 2n and 2n + 1, so a node's level is
 * floor(log2(id)) and leaves sit at level `depth`. Every address signs at most MAX_USES distinct bundles.
 */
export const MAX_USES = 2;

export const ROOT = 1;

export function levelOf(node: number): number {
  return Math.floor(Math.log2(node));
}

/** The node and its leftmost descendants down to the leaf level. */
export function leftmostBranch(node: number, depth: number): number[] {
  const branch = [node];
  while (levelOf(branch[branch.length - 1]) < depth) branch.push(branch[branch.length - 1] * 2);
  return branch;
}

/** States a fresh node at `height` levels above the leaves can produce: 2 per leaf below it. */
function statesOfFreshNode(height: number): number {
  return 2 ** (height + 1);
}

/** Payments a channel of this depth can carry: every state of the tree but one, kept for the close. */
export function paymentCapacity(depth: number): number {
  return statesOfFreshNode(depth) - 1;
}

/** The smallest depth whose capacity covers `payments` transfers. */
export function depthForPayments(payments: number): number {
  let depth = 0;
  while (paymentCapacity(depth) < payments) depth++;
  return depth;
}

export function usesOf(state: ChannelState, node: number): number {
  return state.nodes[node]?.signedBundles.length ?? 0;
}

/** One bundle of a planned state: `node` spends everything to `child`, or (without child) to the settlements. */
export interface PlannedStep {
  node: number;
  child?: number;
}

export interface Plan {
  /** How many bundles at the head of the latest chain stay as they are. */
  reuse: number;
  steps: PlannedStep[];
}

function fundingSteps(branchTop: number[]): PlannedStep[] {
  return branchTop.map((node, i) => (i + 1 < branchTop.length ? { node, child: branchTop[i + 1] } : { node }));
}

/**
 * The deepest node of the latest chain, above its last node, that can still fund a second child, and the new
 * branch it would fund; null when the tree has no advance left.
 */
function nextAdvance(state: ChannelState, chainNodes: number[]): { at: number; branch: number[] } | null {
  for (let i = chainNodes.length - 2; i >= 0; i--) {
    if (usesOf(state, chainNodes[i]) < MAX_USES) {
      const sibling = chainNodes[i + 1] ^ 1;
      return { at: i, branch: leftmostBranch(sibling, state.depth) };
    }
  }
  return null;
}

/**
 * The bundles of the next state. A payment settles from the current leaf while it has a use left, and otherwise
 * advances: the deepest ancestor with a use left funds a fresh branch down to a new leaf. A close settles from the
 * highest node of the latest chain that has a use left, so its chain is the shortest available.
 */
export function planNext(state: ChannelState, close: boolean): Plan | null {
  const chainNodes = state.chain.map((b) => b.node);
  if (chainNodes.length === 0) {
    return { reuse: 0, steps: close ? [{ node: 1 }] : fundingSteps(leftmostBranch(1, state.depth)) };
  }
  if (close) {
    const i = chainNodes.findIndex((node) => usesOf(state, node) < MAX_USES);
    return i < 0 ? null : { reuse: i, steps: [{ node: chainNodes[i] }] };
  }
  const leaf = chainNodes[chainNodes.length - 1];
  if (usesOf(state, leaf) < MAX_USES) return { reuse: chainNodes.length - 1, steps: [{ node: leaf }] };
  const advance = nextAdvance(state, chainNodes);
  if (!advance) return null;
  return {
    reuse: advance.at,
    steps: [{ node: chainNodes[advance.at], child: advance.branch[0] }, ...fundingSteps(advance.branch)],
  };
}

/** The nodes the first advance after the latest state will create: their digests are exchanged ahead of time. */
export function upcomingBranch(state: ChannelState): number[] {
  if (state.closed || state.chain.length === 0) return [];
  return nextAdvance(state, state.chain.map((b) => b.node))?.branch ?? [];
}

/** States the tree can still produce: the current leaf's uses left plus a fresh subtree per free ancestor. */
function remainingStates(state: ChannelState): number {
  if (state.closed) return 0;
  const chainNodes = state.chain.map((b) => b.node);
  if (chainNodes.length === 0) return statesOfFreshNode(state.depth);
  const leaf = chainNodes[chainNodes.length - 1];
  let states = MAX_USES - usesOf(state, leaf);
  for (const node of chainNodes.slice(0, -1)) {
    if (usesOf(state, node) < MAX_USES) states += statesOfFreshNode(state.depth - levelOf(node) - 1);
  }
  return states;
}

/**
 * Payments still possible. One state is always held back so that a cooperative close stays possible; every
 * counted state is a free use of a node on the latest chain, so that close exists whenever this is >= 0.
 */
export function remainingCapacity(state: ChannelState): number {
  return Math.max(0, remainingStates(state) - 1);
}

/** True once no payment is left: the next state must be the close. */
export function mustSettle(state: ChannelState): boolean {
  return !state.closed && remainingCapacity(state) === 0;
}
