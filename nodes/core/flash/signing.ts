import { toTrits as trits, toTrytes as trytes } from '../iota/trytes';
import { FRAGMENT_LENGTH, HASH_LENGTH, MAX_TRYTE_VALUE, NORMALIZED_FRAGMENT_LENGTH, normalizedBundle } from '@iota/signing';
import { bytesToTrits, HASH_BYTES, kerlHash } from '../iota/kerl';
import { chunksToTrytes, FRAGMENT_BYTES, fragmentDigests, keyDigests, privateKey, signatureFragments, subseed, trytesToChunks } from '../iota/wots';
import type { Party, SecurityLevel } from './types';

/**
 * 2-of-2 WOTS co-signing on the @iota/signing primitives.
 *
 * Why not @iota/multisig: in beta.30 `Multisig#addSignature` never returns, and `initiateTransfer` rejects a
 * security sum above 3, so a 2-of-2 at security 2 cannot go through it.
 *
 * The fragment rule: a validating node (IRI `BundleValidator`, and `isBundle` here) checks the k-th signature
 * fragment of an input, counted over all cosigners, against normalized bundle-hash fragment `k mod 3`. Party 0 owns
 * the first `security` fragments, party 1 the next `security`, so party p signs its fragment j with normalized
 * fragment `(p * security + j) % 3`. With security 2, party 0 uses (0, 1) and party 1 uses (2, 0).
 */

export const FRAGMENT_TRYTES = FRAGMENT_LENGTH / 3;

export function digestTrytes(security: SecurityLevel): number {
  return (security * HASH_LENGTH) / 3;
}

/** A party's digests for one key index: security x 81 trytes. The costly step (about 3 ms at security 2). */
export function deriveDigest(seed: string, keyIndex: number, security: SecurityLevel): string {
  const id = aheadId(seed, keyIndex, security);
  const ready = derivedAhead.get(id);
  if (ready !== undefined) {
    derivedAhead.delete(id);
    return ready;
  }
  return computeDigest(seed, keyIndex, security);
}

function computeDigest(seed: string, keyIndex: number, security: SecurityLevel): string {
  return chunksToTrytes(keyDigests(privateKey(subseed(seed, keyIndex), security)));
}

/**
 * Digests derived before they are needed, each taken once by `deriveDigest`. The engine's worker fills it while it
 * is idle with the key indices that the next calls will draw, so that a payment that grows the tree costs little
 * more than one that reuses a leaf. Memory only, in the worker's thread, like the seed itself.
 */
const derivedAhead = new Map<string, string>();
/** Room for a few digests of each of hundreds of sessions (about 300 bytes each), so that none is derived twice. */
const MAX_DERIVED_AHEAD = 2048;

const aheadId = (seed: string, keyIndex: number, security: number) => `${security}:${keyIndex}:${seed}`;

export function deriveDigestAhead(seed: string, keyIndex: number, security: SecurityLevel): void {
  const id = aheadId(seed, keyIndex, security);
  if (derivedAhead.has(id)) return;
  const digest = computeDigest(seed, keyIndex, security);
  if (derivedAhead.size >= MAX_DERIVED_AHEAD) derivedAhead.delete(derivedAhead.keys().next().value as string);
  derivedAhead.set(id, digest);
}

/** The multisig address: Kerl over party 0's digests, then party 1's. Kerl output always ends in a 0 trit. */
export function multisigAddress(digest0: string, digest1: string): string {
  return trytes(kerlHash(trytesToChunks(digest0 + digest1)));
}

/** Which normalized fragment (0..2) party `party`'s j-th signature fragment signs. */
export function fragmentSlot(party: Party, security: SecurityLevel, j: number): number {
  return (party * security + j) % 3;
}

/** The 27 normalized trytes of one slot of a normalized bundle hash. */
function normalizedFragment(normalized: Int8Array, slot: number): Int8Array {
  return normalized.subarray(slot * NORMALIZED_FRAGMENT_LENGTH, (slot + 1) * NORMALIZED_FRAGMENT_LENGTH);
}

/**
 * True when a normalized fragment that the two parties sign contains a 13 ("M"): that chunk would be signed with
 * zero hash rounds, which publishes the raw private key chunk.
 */
export function hasInsecureFragment(bundleHash: string, security: SecurityLevel): boolean {
  const signedSlots = new Set([0, 1].flatMap((p) => [0, 1, 2].slice(0, security).map((j) => fragmentSlot(p as Party, security, j))));
  const normalized = normalizedBundle(trits(bundleHash));
  return [...signedSlots].some((slot) => normalizedFragment(normalized, slot).includes(MAX_TRYTE_VALUE));
}

/** The normalized fragments that party `party`'s signature fragments sign, in their order. */
function signedFragments(bundleHash: string, security: SecurityLevel, party: Party): Int8Array[] {
  const normalized = normalizedBundle(trits(bundleHash));
  return [...Array(security)].map((_, j) => normalizedFragment(normalized, fragmentSlot(party, security, j)));
}

/** One party's `security` signature fragments (2187 trytes each) for a bundle hash. */
export function signFragments(
  seed: string,
  keyIndex: number,
  security: SecurityLevel,
  party: Party,
  bundleHash: string,
): string[] {
  const key = privateKey(subseed(seed, keyIndex), security);
  const signature = signatureFragments(signedFragments(bundleHash, security, party), key);
  return [...Array(security)].map((_, j) => chunksToTrytes(signature.subarray(j * FRAGMENT_BYTES, (j + 1) * FRAGMENT_BYTES)));
}

/**
 * Index of the first fragment that does not hash to the party's digest for that node, or -1 when all match.
 * Checked before we add our own signature, so a bad counter-signature never costs us a signature.
 */
export function firstBadFragment(
  fragments: readonly string[],
  partyDigest: string,
  security: SecurityLevel,
  party: Party,
  bundleHash: string,
): number {
  const expected = trits(partyDigest);
  const actual = new Int8Array(HASH_LENGTH);
  const digests = fragmentDigests(signedFragments(bundleHash, security, party), trytesToChunks(fragments.slice(0, security).join('')));
  for (let j = 0; j < security; j++) {
    bytesToTrits(digests, j * HASH_BYTES, actual, 0);
    // Compared in trits, so that a digest whose last trit is not 0 never matches.
    const want = expected.subarray(j * HASH_LENGTH, (j + 1) * HASH_LENGTH);
    if (!actual.every((trit, i) => trit === want[i])) return j;
  }
  return -1;
}
