import { addEntry } from '@iota/bundle';
import { fromValue } from '@iota/converter';
import { FRAGMENT_LENGTH, MAX_TRYTE_VALUE, MIN_TRYTE_VALUE, NORMALIZED_FRAGMENT_LENGTH } from '@iota/signing';
import {
  BUNDLE_OFFSET,
  OBSOLETE_TAG_LENGTH,
  OBSOLETE_TAG_OFFSET,
  TRANSACTION_ESSENCE_LENGTH,
  TRANSACTION_ESSENCE_OFFSET,
  TRANSACTION_LENGTH,
} from '@iota/transaction';
import { asTransactionObject } from '@iota/transaction-converter';
import { addPowerOfThree, bytesToTrits, digestTrytes, HASH_BYTES, HASH_TRITS, tritsToBytes } from '../iota/kerl';
import { hashTries } from '../iota/keccak-pair';
import { toTrits as trits, toTrytes as trytes } from '../iota/trytes';
import type { Party, SecurityLevel } from './types';

/**
 * Building, hashing and checking the bundles of a state.
 *
 * Layout of every bundle (the layout `@iota/multisig createBundle` uses): the outputs first, then the input, the
 * spending node's address repeated 2 x security times. The first input transaction carries the whole channel
 * balance as a negative value; the others hold the remaining signature fragments, party 0's first.
 */

/** Every transaction carries this tag; it also seeds the obsoleteTag that bundle finalization increments. */
export const CHANNEL_TAG = 'MTOMEV9FLASH999999999999999';

const NULL_HASH = '9'.repeat(81);

export interface Output {
  address: string;
  value: number;
}

/**
 * The unsigned bundle that moves `total` from `inputAddress` to `outputs`, in canonical form: finalization bumps
 * the first obsoleteTag until no signed fragment of the hash normalizes to 13, so both parties get the same bytes.
 */
export function buildBundle(
  inputAddress: string,
  total: number,
  outputs: readonly Output[],
  security: SecurityLevel,
  timestamp: number,
): string[] {
  const common = { obsoleteTag: trits(CHANNEL_TAG), tag: trits(CHANNEL_TAG), issuanceTimestamp: fromValue(timestamp) };
  let bundle: Int8Array = new Int8Array(0);
  for (const output of outputs) {
    bundle = addEntry(bundle, { ...common, address: trits(output.address), value: fromValue(output.value) });
  }
  bundle = addEntry(bundle, {
    ...common,
    address: trits(inputAddress),
    value: fromValue(-total),
    signatureOrMessage: new Int8Array(2 * security * FRAGMENT_LENGTH),
  });
  // Both parties' fragments use normalized fragments (0 .. 2 x security - 1) mod 3: those must hold no 13.
  return splitTrytes(finalizeBundle(bundle, Math.min(3, 2 * security)));
}

/** Each transaction's essence contributes two Kerl chunks; the first's second chunk holds its obsoleteTag. */
const ESSENCE_CHUNKS = TRANSACTION_ESSENCE_LENGTH / HASH_TRITS;
/** Where the first obsoleteTag starts within that chunk, in trits. */
const TAG_PLACE = OBSOLETE_TAG_OFFSET - TRANSACTION_ESSENCE_OFFSET - HASH_TRITS;

/**
 * `@iota/bundle finalizeBundle`, bit for bit (the suite compares them): the Kerl hash of the essences, with the
 * first obsoleteTag incremented until no normalized fragment below `protectedFragments` holds a 13; the hash goes
 * into every transaction's bundle field. It takes about 120 tries, so a try does the least it can: two tries are
 * hashed at once (hashTries), each checked in turn, reading the digest's trytes only as far as the first fragment
 * that fails (most fail in the first); the increment adds 3^k to the chunk's bytes instead of converting it again.
 */
export function finalizeBundle(bundle: Int8Array, protectedFragments: number): Int8Array {
  const out = bundle.slice();
  const count = out.length / TRANSACTION_LENGTH;
  const essences = new Uint8Array(count * ESSENCE_CHUNKS * HASH_BYTES);
  for (let tx = 0; tx < count; tx++) {
    for (let c = 0; c < ESSENCE_CHUNKS; c++) {
      tritsToBytes(out, tx * TRANSACTION_LENGTH + TRANSACTION_ESSENCE_OFFSET + c * HASH_TRITS, essences, (tx * ESSENCE_CHUNKS + c) * HASH_BYTES);
    }
  }
  // The chunk that holds the first obsoleteTag, of this try and of the next.
  const tagChunk = essences.subarray(HASH_BYTES, 2 * HASH_BYTES);
  const nextTagChunk = new Uint8Array(HASH_BYTES);
  const digests = new Uint8Array(2 * HASH_BYTES);
  const isSecure = (digest: number) => {
    digestTrytes.start(digests, digest * HASH_BYTES);
    return !normalizesToThirteen((n) => digestTrytes.upTo(n), protectedFragments);
  };
  let digest: number;
  for (;;) {
    const tag = out.slice(OBSOLETE_TAG_OFFSET, OBSOLETE_TAG_OFFSET + OBSOLETE_TAG_LENGTH);
    nextTag(out, tagChunk, nextTagChunk);
    hashTries(essences, nextTagChunk, digests);
    if (isSecure(0)) {
      out.set(tag, OBSOLETE_TAG_OFFSET);
      digest = 0;
      break;
    }
    if (isSecure(1)) {
      digest = 1;
      break;
    }
    nextTag(out, nextTagChunk, tagChunk);
  }
  const hash = new Int8Array(HASH_TRITS);
  bytesToTrits(digests, digest * HASH_BYTES, hash, 0);
  for (let offset = BUNDLE_OFFSET; offset < out.length; offset += TRANSACTION_LENGTH) out.set(hash, offset);
  return out;
}

/** Increments the first obsoleteTag of `bundle`; `to` gets the bytes of its chunk, which were `from`'s. */
function nextTag(bundle: Int8Array, from: Uint8Array, to: Uint8Array): void {
  // A tag that wraps around (from all 1s to all -1s) changes its chunk by more than 3^k.
  if (incrementTag(bundle)) return tritsToBytes(bundle, TRANSACTION_ESSENCE_OFFSET + HASH_TRITS, to, 0);
  to.set(from);
  addPowerOfThree(to, 0, TAG_PLACE);
}

/** The first obsoleteTag plus one, in place, wrapping as `@iota/signing increment` does; true when it wrapped. */
function incrementTag(bundle: Int8Array): boolean {
  for (let i = OBSOLETE_TAG_OFFSET; i < OBSOLETE_TAG_OFFSET + OBSOLETE_TAG_LENGTH; i++) {
    if (bundle[i] < 1) {
      bundle[i]++;
      return false;
    }
    bundle[i] = -1;
  }
  return true;
}

/**
 * Whether `@iota/signing normalizedBundle` holds a 13 in its first `fragments` fragments, computed without building
 * it. `trytesUpTo(n)` gives the hash's tryte values, at least the first n. Normalizing a fragment whose trytes sum
 * to s > 0 lowers its trytes from the first on, each down to -13 at most, until the sum is 0 (s < 0 raises them up
 * to 13 likewise); the trytes past that keep their values.
 */
export function normalizesToThirteen(trytesUpTo: (count: number) => ArrayLike<number>, fragments: number): boolean {
  for (let f = 0; f < fragments; f++) {
    const first = f * NORMALIZED_FRAGMENT_LENGTH;
    const end = first + NORMALIZED_FRAGMENT_LENGTH;
    const trytes = trytesUpTo(end);
    let sum = 0;
    for (let j = first; j < end; j++) sum += trytes[j];
    for (let j = first; j < end; j++) {
      let tryte = trytes[j];
      if (sum > 0) {
        const down = Math.min(sum, tryte - MIN_TRYTE_VALUE);
        tryte -= down;
        sum -= down;
      } else if (sum < 0) {
        const up = Math.min(-sum, MAX_TRYTE_VALUE - tryte);
        tryte += up;
        sum += up;
      }
      if (tryte === MAX_TRYTE_VALUE) return true;
    }
  }
  return false;
}

function splitTrytes(bundle: Int8Array): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < bundle.length; offset += TRANSACTION_LENGTH) {
    out.push(trytes(bundle.subarray(offset, offset + TRANSACTION_LENGTH)));
  }
  return out;
}

export function parseBundle(txTrytes: readonly string[]) {
  // A fixed hash: the transaction hash (Curl over the whole tx) is not needed for a bundle that is not attached.
  return txTrytes.map((t) => asTransactionObject(t, NULL_HASH));
}

/**
 * Writes one party's fragments into its slots of the input: the inputs are the last 2 x security transactions, and
 * party p's start at the p x security-th of them. The signatureOrMessage field is the first 2187 trytes of a
 * transaction, so this is string work, with no conversion to trits.
 */
export function addSignature(txTrytes: readonly string[], fragments: readonly string[], party: Party, security: SecurityLevel): string[] {
  const at = txTrytes.length - 2 * security + party * security;
  return txTrytes.map((tx, i) => (i >= at && i < at + security ? fragments[i - at] + tx.slice(FRAGMENT_LENGTH / 3) : tx));
}

/**
 * The order in which to hand a bundle to composeAPI `sendTrytes`: head (highest currentIndex) first, as
 * `prepareTransfers` returns it. The node's attachToTangle sorts them anyway; local PoW functions may not.
 */
export function attachOrder(txTrytes: readonly string[]): string[] {
  return [...txTrytes].reverse();
}
