import { BUNDLE_LENGTH, BUNDLE_OFFSET } from '@iota/transaction';
import { bundleHashOf } from '../iota/bundle-validator';
import { HASH_TRYTES, isSeed, isTrytes, isValueAddress } from '../iota/trytes';
import {
  addSignature,
  attachOrder,
  buildBundle,
  type Output,
  parseBundle,
} from './bundles';
import { FlashError } from './errors';
import {
  deriveDigest,
  digestTrytes,
  firstBadFragment,
  FRAGMENT_TRYTES,
  hasInsecureFragment,
  multisigAddress,
  signFragments,
} from './signing';
import { leftmostBranch, MAX_USES, planNext, remainingCapacity, ROOT, upcomingBranch, usesOf } from './tree';
import type {
  ChannelState,
  Completion,
  Cosignature,
  KeyHolder,
  NodeDigest,
  Party,
  PendingBundle,
  PendingState,
  Proposal,
  SecurityLevel,
  SetupAccept,
  SetupOffer,
  SignedBundle,
  Transfer,
  TreeNode,
} from './types';

/**
 * The channel protocol as pure functions: each takes a state and returns a new state (plus the message to send),
 * never changing its input; a refusal throws a FlashError and leaves nothing changed.
 *
 * A payment takes three messages: proposal (unsigned bundles) → cosignature → completion. The proposal carries no
 * signature, so when both parties propose at once nothing has been revealed and one proposal can simply be dropped.
 */

/** Largest clock difference accepted between the proposer's timestamp and ours. */
export const MAX_CLOCK_SKEW_S = 600;
/** Supply of legacy IOTA: no value field may exceed it. */
const MAX_SUPPLY = 2779530283277761;
export const MAX_DEPTH = 20;
const TRANSACTION_TRYTES = 2673;
const MAX_BUNDLE_TRANSACTIONS = 32;

export interface ChannelTerms {
  channelId: string;
  /** Levels below the root; see `depthForPayments`. */
  depth: number;
  security: SecurityLevel;
  /** By party index: what the opener (0) and the accepter (1) deposit. Integers; one of them may be 0. */
  deposits: [number, number];
}

export interface TimeOptions {
  /** Current time in ms (defaults to Date.now()); the protocol uses whole seconds. */
  now?: number;
  /** Largest accepted difference between a proposal's timestamp and our clock, s (default MAX_CLOCK_SKEW_S). */
  maxClockSkewS?: number;
}

export interface CosignOptions extends TimeOptions {
  /**
   * Called for a proposal in which WE pay (the peer proposes our payment, e.g. a refund it asks for). Without it,
   * such a proposal is refused: verification proves a proposal is consistent, not that we want to pay.
   */
  approve?: (transfer: Transfer) => boolean;
}

export interface Outcome<M> {
  state: ChannelState;
  message: M;
}

const fail = (code: ConstructorParameters<typeof FlashError>[0], message: string): never => {
  throw new FlashError(code, message);
};

const other = (party: Party): Party => (party === 0 ? 1 : 0);

const nowSeconds = (options?: TimeOptions) => Math.floor((options?.now ?? Date.now()) / 1000);

// ---------------------------------------------------------------------------------------------- argument checks

function checkTerms(terms: ChannelTerms): void {
  if (typeof terms.channelId !== 'string' || terms.channelId.length === 0 || terms.channelId.length > 128) {
    fail('INVALID_ARGUMENT', 'channelId must be a non-empty string of at most 128 characters');
  }
  if (!Number.isInteger(terms.depth) || terms.depth < 0 || terms.depth > MAX_DEPTH) {
    fail('INVALID_ARGUMENT', `depth must be an integer from 0 to ${MAX_DEPTH}`);
  }
  if (![1, 2, 3].includes(terms.security)) fail('INVALID_ARGUMENT', 'security must be 1, 2 or 3');
  const [d0, d1]: number[] = Array.isArray(terms.deposits) && terms.deposits.length === 2 ? terms.deposits : [NaN, NaN];
  if (![d0, d1].every((d) => Number.isSafeInteger(d) && d >= 0) || d0 + d1 <= 0 || d0 + d1 > MAX_SUPPLY) {
    fail('INVALID_ARGUMENT', 'deposits must be two non-negative integers with a positive total within the supply');
  }
}

function checkSettlementAddress(address: unknown, whose: string): void {
  if (!isValueAddress(address)) {
    fail('INVALID_ADDRESS', `${whose} settlement address must be 81 trytes (no checksum) ending in a 0 trit`);
  }
}

function checkKeys(keys: KeyHolder): void {
  if (!keys || !isSeed(keys.seed)) fail('INVALID_ARGUMENT', 'the key holder must provide an 81-tryte seed');
  if (typeof keys.allocateKeyIndices !== 'function') fail('INVALID_ARGUMENT', 'the key holder must allocate key indices');
}

function checkDigests(value: unknown, security: SecurityLevel): NodeDigest[] {
  if (!Array.isArray(value)) return fail('MALFORMED_MESSAGE', 'digests must be a list');
  for (const d of value) {
    if (!d || !Number.isSafeInteger(d.node) || d.node < 1 || !isTrytes(d.digest, digestTrytes(security))) {
      fail('MALFORMED_MESSAGE', `each digest needs a node id and ${digestTrytes(security)} trytes`);
    }
  }
  return value as NodeDigest[];
}

// ----------------------------------------------------------------------------------------------------- digests

/**
 * The node records each draft may change. A draft shares the records of the state it was copied from (a tree of
 * thousands of nodes would otherwise be copied at every step), so a record is copied the first time a draft
 * changes it, and only then.
 */
const ownedNodes = new WeakMap<ChannelState, Set<number>>();

/** The record of `node` in `draft`, to change: the draft's own copy (a new record for a node not in the tree yet). */
function nodeRecord(draft: ChannelState, node: number): TreeNode {
  let owned = ownedNodes.get(draft);
  if (!owned) ownedNodes.set(draft, (owned = new Set()));
  const record = draft.nodes[node];
  if (record && owned.has(node)) return record;
  owned.add(node);
  return (draft.nodes[node] = record
    ? { ...record, digests: [record.digests[0], record.digests[1]], signedBundles: [...record.signedBundles] }
    : { digests: [null, null], keyIndex: -1, address: null, signedBundles: [] });
}

/** Derives our digests for the nodes that lack one, at key indices the wallet allocates. */
function deriveOwnDigests(draft: ChannelState, keys: KeyHolder, nodes: number[]): void {
  const missing = nodes.filter((n) => !draft.nodes[n]?.digests[draft.self]);
  if (missing.length === 0) return;
  const indices = keys.allocateKeyIndices(missing.length);
  const used = new Set(Object.values(draft.nodes).map((n) => n.keyIndex));
  const valid =
    Array.isArray(indices) &&
    indices.length === missing.length &&
    indices.every((i) => Number.isSafeInteger(i) && i >= 0 && !used.has(i)) &&
    new Set(indices).size === indices.length;
  if (!valid) fail('INVALID_ARGUMENT', `the wallet must return ${missing.length} distinct unused key indices`);
  missing.forEach((node, i) => {
    const record = nodeRecord(draft, node);
    record.keyIndex = indices[i];
    record.digests[draft.self] = deriveDigest(keys.seed, indices[i], draft.security);
    composeAddress(draft, record);
  });
}

/** Stores the peer's digests; they must cover exactly `expected` and agree with any received before. */
function storePeerDigests(draft: ChannelState, digests: NodeDigest[], expected: number[]): void {
  const received = new Map(digests.map((d) => [d.node, d.digest]));
  if (received.size !== digests.length || received.size !== expected.length || !expected.every((n) => received.has(n))) {
    fail('DIGEST_MISMATCH', `expected the peer's digests for nodes [${expected.join(', ')}]`);
  }
  const peer = other(draft.self);
  for (const [node, digest] of received) {
    const known = draft.nodes[node]?.digests[peer] ?? null;
    if (known !== null && known !== digest) fail('DIGEST_MISMATCH', `node ${node}: digest differs from the one received earlier`);
    // Digests ahead come again with every round until their branch is used: a record is copied only when new.
    if (known === digest) continue;
    const record = nodeRecord(draft, node);
    record.digests[peer] = digest;
    composeAddress(draft, record);
  }
}

function composeAddress(draft: ChannelState, record: TreeNode): void {
  const [d0, d1] = record.digests;
  if (d0 !== null && d1 !== null && record.address === null) {
    record.address = multisigAddress(d0, d1);
    if (draft.settlementAddresses.includes(record.address)) fail('INVALID_ADDRESS', 'a settlement address equals a channel address');
  }
}

function ownDigests(state: ChannelState, nodes: number[]): NodeDigest[] {
  return nodes.map((node) => ({ node, digest: state.nodes[node].digests[state.self] as string }));
}

// ------------------------------------------------------------------------------------------------------- setup

/** Party 0 opens: derives its digests for the first branch (depth + 1 nodes) and offers the terms. */
export function openChannel(
  terms: ChannelTerms,
  settlementAddress: string,
  keys: KeyHolder,
): Outcome<SetupOffer> {
  checkTerms(terms);
  checkSettlementAddress(settlementAddress, 'our');
  checkKeys(keys);
  const state = emptyState(terms, 0, [settlementAddress, '']);
  const branch = leftmostBranch(ROOT, terms.depth);
  deriveOwnDigests(state, keys, branch);
  return {
    state,
    message: {
      type: 'setup-offer',
      version: 1,
      channelId: terms.channelId,
      security: terms.security,
      depth: terms.depth,
      deposits: [...terms.deposits],
      settlementAddress,
      digests: ownDigests(state, branch),
    },
  };
}

/**
 * Party 1 accepts an offer. The caller decides beforehand whether the terms (deposits, depth, security) suit it;
 * this checks that they are well formed, derives our digests and composes the first branch's addresses.
 */
export function acceptChannel(offer: SetupOffer, settlementAddress: string, keys: KeyHolder): Outcome<SetupAccept> {
  if (!offer || offer.type !== 'setup-offer' || offer.version !== 1) fail('MALFORMED_MESSAGE', 'not a version 1 setup offer');
  const terms: ChannelTerms = {
    channelId: offer.channelId,
    depth: offer.depth,
    security: offer.security,
    deposits: offer.deposits,
  };
  try {
    checkTerms(terms);
  } catch (err) {
    fail('MALFORMED_MESSAGE', `offer terms: ${(err as Error).message}`);
  }
  checkSettlementAddress(offer.settlementAddress, "the opener's");
  checkSettlementAddress(settlementAddress, 'our');
  checkKeys(keys);
  const state = emptyState({ ...terms, deposits: [...offer.deposits] }, 1, [offer.settlementAddress, settlementAddress]);
  const branch = leftmostBranch(ROOT, terms.depth);
  storePeerDigests(state, checkDigests(offer.digests, terms.security), branch);
  deriveOwnDigests(state, keys, branch);
  return {
    state,
    message: { type: 'setup-accept', channelId: terms.channelId, settlementAddress, digests: ownDigests(state, branch) },
  };
}

/** Party 0 receives the acceptance: both parties now know every address of the first branch. */
export function completeSetup(state: ChannelState, accept: SetupAccept): ChannelState {
  if (!accept || accept.type !== 'setup-accept') fail('MALFORMED_MESSAGE', 'not a setup acceptance');
  if (accept.channelId !== state.channelId) fail('WRONG_CHANNEL', 'the acceptance belongs to another channel');
  if (state.self !== 0 || isReady(state)) fail('UNEXPECTED_MESSAGE', 'this channel is not waiting for an acceptance');
  checkSettlementAddress(accept.settlementAddress, "the peer's");
  const draft = copyState(state);
  draft.settlementAddresses[1] = accept.settlementAddress;
  storePeerDigests(draft, checkDigests(accept.digests, draft.security), leftmostBranch(ROOT, draft.depth));
  return draft;
}

function emptyState(terms: ChannelTerms, self: Party, settlementAddresses: [string, string]): ChannelState {
  return {
    version: 1,
    channelId: terms.channelId,
    self,
    security: terms.security,
    depth: terms.depth,
    deposits: [...terms.deposits],
    settlementAddresses,
    nodes: {},
    seq: 0,
    balances: [...terms.deposits],
    timestamp: 0,
    chain: [],
    closed: false,
    pending: null,
  };
}

/**
 * A copy to change: the engine's steps replace or append to the state's parts, so a fresh copy of the small
 * mutable parts (balances, lists) suffices; node records are copied when changed (nodeRecord), and the bundle
 * trytes, immutable strings, are shared.
 */
function copyState(state: ChannelState): ChannelState {
  return {
    ...state,
    deposits: [...state.deposits],
    balances: [...state.balances],
    settlementAddresses: [...state.settlementAddresses],
    nodes: { ...state.nodes },
    chain: [...state.chain],
  };
}

function isReady(state: ChannelState): boolean {
  return (state.nodes[ROOT]?.address ?? null) !== null && state.settlementAddresses[1] !== '';
}

// ---------------------------------------------------------------------------------------------- building states

const totalOf = (state: ChannelState) => state.deposits[0] + state.deposits[1];

function addressOf(state: ChannelState, node: number): string {
  return state.nodes[node]?.address ?? fail('DIGEST_MISSING', `node ${node} has no address yet (digests not exchanged)`);
}

function checkTransfer(state: ChannelState, transfer: Transfer, close: boolean): void {
  if (!transfer || (transfer.from !== 0 && transfer.from !== 1) || !Number.isSafeInteger(transfer.amount) || transfer.amount < 0) {
    fail('INVALID_ARGUMENT', 'a transfer needs from (0 or 1) and a non-negative integer amount');
  }
  if (close && transfer.amount !== 0) fail('INVALID_ARGUMENT', 'a close carries no transfer');
  if (state.balances[transfer.from] < transfer.amount) {
    fail('INSUFFICIENT_BALANCE', `party ${transfer.from} holds ${state.balances[transfer.from]}, not ${transfer.amount}`);
  }
  if (!close && remainingCapacity(state) < 1) fail('CAPACITY_EXHAUSTED', 'no payment left in the tree: close the channel');
}

function settlementOutputs(state: ChannelState, balances: [number, number]): Output[] {
  return ([0, 1] as const)
    .filter((p) => balances[p] > 0)
    .map((p) => ({ address: state.settlementAddresses[p], value: balances[p] }));
}

/** The next state, unsigned, rebuilt deterministically from our state, the transfer and the timestamp. */
function buildPending(
  state: ChannelState,
  role: PendingState['role'],
  transfer: Transfer,
  close: boolean,
  timestamp: number,
): PendingState {
  const plan = planNext(state, close) ?? fail('CAPACITY_EXHAUSTED', 'every address of the tree has signed twice');
  const balances: [number, number] = [...state.balances];
  balances[transfer.from] -= transfer.amount;
  balances[other(transfer.from)] += transfer.amount;
  const bundles: PendingBundle[] = plan.steps.map((step) => {
    const outputs =
      step.child !== undefined
        ? [{ address: addressOf(state, step.child), value: totalOf(state) }]
        : settlementOutputs(state, balances);
    const trytes = buildBundle(addressOf(state, step.node), totalOf(state), outputs, state.security, timestamp);
    return { node: step.node, hash: hashField(trytes), trytes };
  });
  return { role, seq: state.seq + 1, transfer, close, timestamp, balances, reuse: plan.reuse, bundles };
}

/** The bundle field of the first transaction: the hash finalization wrote into every transaction. */
function hashField(txTrytes: readonly string[]): string {
  return txTrytes[0].slice(BUNDLE_OFFSET / 3, (BUNDLE_OFFSET + BUNDLE_LENGTH) / 3);
}

/** The state as it would be once `pending` is co-signed; `signed` holds the final bundle trytes. */
function commitInto(draft: ChannelState, pending: PendingState, signed: string[][]): void {
  pending.bundles.forEach((bundle) => {
    if (!draft.nodes[bundle.node].signedBundles.includes(bundle.hash)) nodeRecord(draft, bundle.node).signedBundles.push(bundle.hash);
  });
  draft.chain = [...draft.chain.slice(0, pending.reused?.length ?? pending.reuse), ...pending.bundles.map((b, i): SignedBundle => ({ node: b.node, hash: b.hash, trytes: signed[i] }))];
  draft.seq = pending.seq;
  draft.balances = [...pending.balances];
  draft.timestamp = pending.timestamp;
  draft.closed = pending.close;
  draft.pending = null;
}

/** The branch whose digests travel with this round: the one the first advance after the new state will need. */
function branchAfter(state: ChannelState, pending: PendingState): number[] {
  const preview = copyState(state);
  commitInto(preview, pending, pending.bundles.map((b) => b.trytes));
  return upcomingBranch(preview);
}

// ----------------------------------------------------------------------------------------------------- proposing

function checkCanPropose(state: ChannelState): void {
  if (!isReady(state)) fail('UNEXPECTED_MESSAGE', 'the channel setup is not complete');
  if (state.closed) fail('CHANNEL_CLOSED', 'the channel is closed');
  if (state.pending) fail('UNEXPECTED_MESSAGE', `state ${state.pending.seq} is still being signed`);
}

function propose(state: ChannelState, keys: KeyHolder, transfer: Transfer, close: boolean, options?: TimeOptions): Outcome<Proposal> {
  checkKeys(keys);
  checkCanPropose(state);
  checkTransfer(state, transfer, close);
  const draft = copyState(state);
  const pending = buildPending(draft, 'proposer', { from: transfer.from, amount: transfer.amount }, close, Math.max(nowSeconds(options), state.timestamp));
  const ahead = branchAfter(draft, pending);
  deriveOwnDigests(draft, keys, ahead);
  draft.pending = pending;
  return {
    state: draft,
    message: {
      type: 'proposal',
      channelId: draft.channelId,
      seq: pending.seq,
      transfer: pending.transfer,
      close,
      timestamp: pending.timestamp,
      bundleHashes: pending.bundles.map((b) => b.hash),
      digests: ownDigests(draft, ahead),
    },
  };
}

/**
 * Proposes the next state: `amount` moves from party `from` (default: us) to the other. Usually the payer proposes.
 * Costs no signature; the digests of the branch after the next advance are derived here when first needed.
 */
export function proposeTransfer(
  state: ChannelState,
  keys: KeyHolder,
  payment: { amount: number; from?: Party },
  options?: TimeOptions,
): Outcome<Proposal> {
  return propose(state, keys, { from: payment.from ?? state.self, amount: payment.amount }, false, options);
}

/** Proposes the cooperative close: the latest balances, paid from the highest node of the chain with a use left. */
export function proposeClose(state: ChannelState, keys: KeyHolder, options?: TimeOptions): Outcome<Proposal> {
  return propose(state, keys, { from: state.self, amount: 0 }, true, options);
}

/**
 * Forgets our unanswered proposal, e.g. when its timestamp has gone stale. Safe for us: a proposal reveals no
 * signature. Resend the original first, though: if the peer did co-sign it, the peer accepts only that one (it
 * answers a repeat with the same co-signature) until the completion arrives.
 */
export function withdrawProposal(state: ChannelState): ChannelState {
  if (state.pending?.role !== 'proposer') fail('UNEXPECTED_MESSAGE', 'we have no proposal to withdraw');
  return { ...copyState(state), pending: null };
}

// ---------------------------------------------------------------------------------------------------- co-signing

function checkProposalShape(state: ChannelState, p: Proposal): void {
  if (!p || p.type !== 'proposal') fail('MALFORMED_MESSAGE', 'not a proposal');
  if (p.channelId !== state.channelId) fail('WRONG_CHANNEL', 'the proposal belongs to another channel');
  if (!Number.isSafeInteger(p.seq) || typeof p.close !== 'boolean' || !Number.isSafeInteger(p.timestamp) || !p.transfer) {
    fail('MALFORMED_MESSAGE', 'a proposal needs seq, close, timestamp and transfer');
  }
  if ((p.bundles === undefined) === (p.bundleHashes === undefined)) fail('MALFORMED_MESSAGE', 'a proposal carries either its bundles or their hashes');
  if (p.bundleHashes !== undefined) {
    if (!Array.isArray(p.bundleHashes) || !p.bundleHashes.every((h) => isTrytes(h, HASH_TRYTES))) {
      fail('MALFORMED_MESSAGE', 'bundleHashes must be a list of 81-tryte hashes');
    }
  } else {
    // Size limits only keep a hostile message from costing much hashing; the content checks name the real problem.
    const wellFormed =
      Array.isArray(p.bundles) &&
      p.bundles.every(
        (b) => Array.isArray(b) && b.length > 0 && b.length <= MAX_BUNDLE_TRANSACTIONS && b.every((t) => isTrytes(t, TRANSACTION_TRYTES)),
      );
    if (!wellFormed) fail('MALFORMED_MESSAGE', `bundles must be lists of at most ${MAX_BUNDLE_TRANSACTIONS} transactions of 2673 trytes`);
  }
  if (proposedHashes(p).length > state.depth + 1) fail('PATH_MISMATCH', `a state has at most ${state.depth + 1} new bundles`);
  checkDigests(p.digests, state.security);
}

/** How many new bundles a proposal names, in either form; for the full form, a count only (the hashes are checked later). */
function proposedHashes(p: Proposal): readonly unknown[] {
  return p.bundleHashes ?? (p.bundles as unknown[]);
}

function checkSeq(state: ChannelState, seq: number): void {
  if (seq <= state.seq) fail('SEQ_REPLAY', `state ${seq} is not newer than the latest state ${state.seq}`);
  if (seq > state.seq + 1) fail('SEQ_GAP', `state ${seq} skips states after ${state.seq}`);
}

function checkTimestamp(state: ChannelState, timestamp: number, options?: TimeOptions): void {
  if (timestamp < state.timestamp) fail('TIMESTAMP_INVALID', 'the timestamp is older than the latest state');
  const skew = options?.maxClockSkewS ?? MAX_CLOCK_SKEW_S;
  if (Math.abs(timestamp - nowSeconds(options)) > skew) fail('TIMESTAMP_INVALID', `the timestamp is more than ${skew} s away from our clock`);
}

function nodeByAddress(state: ChannelState, address: string): number | undefined {
  const found = Object.entries(state.nodes).find(([, n]) => n.address === address);
  return found ? Number(found[0]) : undefined;
}

/** Checks that cost nothing to our keys and hold whatever the plan: hash integrity, the M rule, address reuse. */
function checkProposedBundle(state: ChannelState, txTrytes: string[], i: number): void {
  let txs;
  try {
    txs = parseBundle(txTrytes);
  } catch {
    return fail('MALFORMED_MESSAGE', `bundle ${i}: not valid transactions`);
  }
  const hash = bundleHashOf(txTrytes);
  if (txs.some((tx) => tx.bundle !== hash)) fail('BUNDLE_MISMATCH', `bundle ${i}: the bundle field is not the hash of its transactions`);
  if (hasInsecureFragment(hash, state.security)) {
    fail('INSECURE_BUNDLE_HASH', `bundle ${i}: its hash normalizes to 13 (M) in a signed fragment`);
  }
  const inputs = txs.filter((tx) => tx.value < 0);
  for (const input of inputs) {
    const node = nodeByAddress(state, input.address);
    if (node !== undefined && usesOf(state, node) >= MAX_USES && !state.nodes[node].signedBundles.includes(hash)) {
      fail('ADDRESS_OVERUSE', `bundle ${i}: node ${node} has already signed ${MAX_USES} distinct bundles`);
    }
  }
}

/** Whether a proposal, in either form, names exactly the bundles of `pending`. */
function sameBundles(pending: PendingState, p: Proposal): boolean {
  if (p.bundleHashes) return pending.bundles.length === p.bundleHashes.length && pending.bundles.every((b, i) => b.hash === p.bundleHashes![i]);
  const bundles = p.bundles as string[][];
  return (
    pending.bundles.length === bundles.length &&
    pending.bundles.every((b, i) => b.trytes.length === bundles[i].length && b.trytes.every((t, k) => t === bundles[i][k]))
  );
}

/** Names why a proposal of hashes is not our rebuild: the cosigner builds the bundles from the transfer itself. */
function compareHashes(expected: PendingState, hashes: string[]): void {
  if (expected.bundles.length !== hashes.length) {
    fail('PATH_MISMATCH', `expected ${expected.bundles.length} new bundles (nodes ${expected.bundles.map((b) => b.node).join(', ')}), got ${hashes.length}`);
  }
  const differs = expected.bundles.findIndex((b, i) => b.hash !== hashes[i]);
  fail('BUNDLE_MISMATCH', `bundle ${differs} (node ${expected.bundles[differs].node}) is not the bundle of this transfer that we rebuilt`);
}

/** Compares a proposed bundle with the one we rebuilt and names the first difference that matters. */
function compareBundle(state: ChannelState, expected: PendingBundle, actualTrytes: string[], i: number): void {
  const want = parseBundle(expected.trytes);
  const got = parseBundle(actualTrytes);
  const inputAddress = want.find((tx) => tx.value < 0)!.address;
  const gotInputs = got.filter((tx) => tx.value < 0);
  if (gotInputs.length !== 1 || gotInputs[0].address !== inputAddress) {
    const spent = gotInputs.map((tx) => nodeByAddress(state, tx.address) ?? tx.address.slice(0, 9)).join(', ');
    fail('PATH_MISMATCH', `bundle ${i} must spend node ${expected.node}, it spends [${spent}]`);
  }
  const total = totalOf(state);
  if (got.reduce((sum, tx) => sum + tx.value, 0) !== 0 || gotInputs[0].value !== -total) {
    fail('VALUE_NOT_CONSERVED', `bundle ${i} must move exactly ${total} and sum to 0`);
  }
  const outputsOf = (txs: typeof got) => txs.filter((tx) => tx.value > 0);
  const wantOutputs = new Map(outputsOf(want).map((tx) => [tx.address, tx.value]));
  const gotOutputs = outputsOf(got);
  const stranger = gotOutputs.find((tx) => !wantOutputs.has(tx.address));
  if (stranger) fail('UNEXPECTED_OUTPUT', `bundle ${i} pays ${stranger.value} to an address that is not ours to pay`);
  for (const [address, value] of wantOutputs) {
    if (!gotOutputs.some((tx) => tx.address === address)) {
      fail('OUTPUT_DROPPED', `bundle ${i} drops the output of ${value} to ${address.slice(0, 9)}...`);
    }
  }
  for (const [address, value] of wantOutputs) {
    const paid = gotOutputs.filter((tx) => tx.address === address);
    const sum = paid.reduce((s, tx) => s + tx.value, 0);
    if (paid.length > 1 || sum !== value) fail('OUTPUT_VALUE_MISMATCH', `bundle ${i} pays ${sum} to ${address.slice(0, 9)}..., not ${value}`);
  }
  const differs = expected.trytes.findIndex((t, k) => t !== actualTrytes[k]);
  if (differs >= 0 || actualTrytes.length !== expected.trytes.length) {
    fail('BUNDLE_MISMATCH', `bundle ${i} differs from the expected one at transaction ${differs < 0 ? expected.trytes.length : differs}`);
  }
}

/**
 * Verifies a proposal against the state we expect and, if it is exactly that, signs it with our keys. The new
 * state is pending until the completion arrives: persist it before sending the co-signature.
 */
export function cosignProposal(
  state: ChannelState,
  keys: KeyHolder,
  proposal: Proposal,
  options?: CosignOptions,
): Outcome<Cosignature> {
  checkKeys(keys);
  checkProposalShape(state, proposal);
  if (!isReady(state)) fail('UNEXPECTED_MESSAGE', 'the channel setup is not complete');
  if (state.closed) fail('CHANNEL_CLOSED', 'the channel is closed');
  let base = state;
  if (state.pending?.role === 'cosigner') {
    if (state.pending.seq === proposal.seq && sameBundles(state.pending, proposal)) return { state, message: cosignatureMessage(state, state.pending) };
    fail('UNEXPECTED_MESSAGE', `we co-signed another state ${state.pending.seq} and await its completion`);
  }
  if (state.pending?.role === 'proposer' && proposal.seq === state.pending.seq) {
    // Both proposed at once. Party 0's proposal wins; party 1 drops its own, which revealed no signature.
    if (state.self === 0) fail('CONCURRENT_PROPOSAL', `our proposal for state ${proposal.seq} has precedence`);
    base = { ...state, pending: null };
  }
  if (base.pending) fail('UNEXPECTED_MESSAGE', `we await the co-signature of state ${base.pending.seq}`);
  checkSeq(base, proposal.seq);
  checkTransfer(base, proposal.transfer, proposal.close);
  const transfer: Transfer = { from: proposal.transfer.from, amount: proposal.transfer.amount };
  if (transfer.from === base.self && transfer.amount > 0 && !options?.approve?.({ ...transfer })) {
    fail('NOT_APPROVED', `the proposal makes us pay ${transfer.amount}`);
  }
  checkTimestamp(base, proposal.timestamp, options);

  const draft = copyState(base);
  const expected = buildPending(draft, 'cosigner', transfer, proposal.close, proposal.timestamp);
  // We sign only our own rebuild of the transfer. A proposal that names it (its hashes, or its very bundles) is
  // done; any other is refused, the full form taken apart to name what differs.
  if (!sameBundles(expected, proposal)) {
    if (proposal.bundleHashes) compareHashes(expected, proposal.bundleHashes);
    const bundles = proposal.bundles as string[][];
    bundles.forEach((b, i) => checkProposedBundle(base, b, i));
    if (expected.bundles.length !== bundles.length) {
      fail('PATH_MISMATCH', `expected ${expected.bundles.length} new bundles (nodes ${expected.bundles.map((b) => b.node).join(', ')}), got ${bundles.length}`);
    }
    expected.bundles.forEach((b, i) => compareBundle(draft, b, bundles[i], i));
  }

  const ahead = branchAfter(draft, expected);
  storePeerDigests(draft, proposal.digests, ahead);
  deriveOwnDigests(draft, keys, ahead);
  expected.signatures = expected.bundles.map((b) => signOwn(draft, keys, b));
  draft.pending = expected;
  return { state: draft, message: cosignatureMessage(draft, expected) };
}

function cosignatureMessage(state: ChannelState, pending: PendingState): Cosignature {
  return {
    type: 'cosignature',
    channelId: state.channelId,
    seq: pending.seq,
    bundleHashes: pending.bundles.map((b) => b.hash),
    signatures: pending.signatures as string[][],
    digests: ownDigests(state, branchAfter(state, pending)),
  };
}

function signOwn(state: ChannelState, keys: KeyHolder, bundle: PendingBundle): string[] {
  const node = state.nodes[bundle.node];
  // The last line of defence for the reuse bound and the M rule: never sign a third hash, or an insecure one.
  if (node.signedBundles.length >= MAX_USES && !node.signedBundles.includes(bundle.hash)) {
    fail('ADDRESS_OVERUSE', `node ${bundle.node} has already signed ${MAX_USES} distinct bundles`);
  }
  if (hasInsecureFragment(bundle.hash, state.security)) fail('INSECURE_BUNDLE_HASH', `node ${bundle.node}: refusing to sign`);
  return signFragments(keys.seed, node.keyIndex, state.security, state.self, bundle.hash);
}

// ---------------------------------------------------------------------------------------------------- completing

function checkSignaturesShape(state: ChannelState, m: Cosignature | Completion, type: string): PendingState {
  if (!m || m.type !== type) fail('MALFORMED_MESSAGE', `not a ${type}`);
  if (m.channelId !== state.channelId) fail('WRONG_CHANNEL', `the ${type} belongs to another channel`);
  if (!Number.isSafeInteger(m.seq)) fail('MALFORMED_MESSAGE', 'seq must be an integer');
  if (m.seq <= state.seq) fail('SEQ_REPLAY', `state ${m.seq} is not newer than the latest state ${state.seq}`);
  const pending = state.pending;
  const role = type === 'cosignature' ? 'proposer' : 'cosigner';
  if (!pending || pending.role !== role || pending.seq !== m.seq) fail('UNEXPECTED_MESSAGE', `no ${type} is awaited for state ${m.seq}`);
  const p = pending as PendingState;
  const shaped =
    Array.isArray(m.bundleHashes) &&
    Array.isArray(m.signatures) &&
    m.signatures.length === p.bundles.length &&
    m.signatures.every((s) => Array.isArray(s) && s.length === state.security && s.every((f) => isTrytes(f, FRAGMENT_TRYTES)));
  if (!shaped) fail('MALFORMED_MESSAGE', `a ${type} needs ${state.security} fragments for each of the ${p.bundles.length} bundles`);
  if (m.bundleHashes.length !== p.bundles.length || p.bundles.some((b, i) => b.hash !== m.bundleHashes[i])) {
    fail('BUNDLE_MISMATCH', `the ${type} signs other bundles than state ${p.seq}`);
  }
  return p;
}

/** Checks the peer's fragments against the peer's digest for each node, before we sign or accept anything. */
function checkPeerFragments(state: ChannelState, pending: PendingState, peerFragments: string[][]): void {
  const peer = other(state.self);
  pending.bundles.forEach((bundle, i) => {
    const digest = state.nodes[bundle.node].digests[peer] as string;
    const bad = firstBadFragment(peerFragments[i], digest, state.security, peer, bundle.hash);
    if (bad >= 0) fail('SIGNATURE_INVALID', `bundle ${i} (node ${bundle.node}): the peer's fragment ${bad} does not match its digest`);
  });
}

/**
 * Every bundle with both parties' fragments in their slots. No second validation (isBundle) follows, because
 * every part of it is already checked: we built or rebuilt the bundle and its hash ourselves, the node's address
 * is the Kerl hash of both parties' digests, the peer's fragments were checked against the peer's digests
 * (`checkPeerFragments`), and ours come from our keys. The suite runs @iota/bundle-validator on every bundle.
 */
function assemble(state: ChannelState, pending: PendingState, peerFragments: string[][], ownFragments: string[][]): string[][] {
  return pending.bundles.map((bundle, i) => {
    const signed = addSignature(bundle.trytes, peerFragments[i], other(state.self), state.security);
    return addSignature(signed, ownFragments[i], state.self, state.security);
  });
}

/**
 * The proposer receives the co-signature: it checks the peer's fragments, adds its own, validates every bundle
 * and commits the new state. Persist the returned state before sending the completion.
 */
export function completeProposal(state: ChannelState, keys: KeyHolder, cosignature: Cosignature): Outcome<Completion> {
  checkKeys(keys);
  const pending = checkSignaturesShape(state, cosignature, 'cosignature');
  const draft = copyState(state);
  storePeerDigests(draft, checkDigests(cosignature.digests, draft.security), branchAfter(draft, pending));
  checkPeerFragments(draft, pending, cosignature.signatures);
  const own = pending.bundles.map((b) => signOwn(draft, keys, b));
  const signed = assemble(draft, pending, cosignature.signatures, own);
  commitInto(draft, pending, signed);
  return {
    state: draft,
    message: { type: 'completion', channelId: draft.channelId, seq: pending.seq, bundleHashes: pending.bundles.map((b) => b.hash), signatures: own },
  };
}

/** The cosigner receives the completion: it checks the proposer's fragments and commits the new state. */
export function applyCompletion(state: ChannelState, completion: Completion): ChannelState {
  const pending = checkSignaturesShape(state, completion, 'completion');
  const draft = copyState(state);
  checkPeerFragments(draft, pending, completion.signatures);
  const signed = assemble(draft, pending, completion.signatures, pending.signatures as string[][]);
  commitInto(draft, pending, signed);
  return draft;
}

// --------------------------------------------------------------------------------------------------------- views

/** The root address: both parties deposit into it, exactly `deposits[p]` each, and nobody else may. */
export function depositAddress(state: ChannelState): string {
  if (!isReady(state)) fail('UNEXPECTED_MESSAGE', 'the channel setup is not complete');
  return state.nodes[ROOT].address as string;
}

/**
 * The bundles to attach to settle the channel from our latest co-signed state (or the close, once agreed):
 * parents first, each bundle's transaction trytes in the order composeAPI `sendTrytes` expects. Empty before the
 * first co-signed state. Either party can attach them alone.
 */
export function settlementBundles(state: ChannelState): string[][] {
  return state.chain.map((b) => attachOrder(b.trytes));
}
