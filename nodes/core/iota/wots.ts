import { fromValue } from '@iota/converter';
import { add, normalizedBundle } from '@iota/signing';
import { bytesToTrits, digestTrytes, HASH_BYTES, HASH_TRITS, HASH_TRYTE_VALUES, kerlBytes, kerlHash, normalize, tritsToBytes, tryteValuesToBytes } from './kerl';
import { keccak384 } from './keccak';
import { hashChains } from './keccak-pair';
import { fromTryteValues, toTrits, toTrytes, toTryteValues } from './trytes';

/**
 * Winternitz one-time signatures as IOTA signs (`@iota/signing` 1.0.0-beta.30), with the hash chains in bytes.
 *
 * A key fragment is 27 chunks; signing normalized bundle-hash tryte n hashes its chunk 13 - n times, and
 * verifying hashes the signature's chunk 13 + n times, so both ends meet at the chunk hashed 26 times, from which
 * the fragment's digest is taken. Each round is one Kerl hash of one chunk: in bytes it is Keccak-384 and a
 * `normalize`, with no conversion to trits until the result leaves this module. The suite proves every function
 * here identical to its `@iota/signing` counterpart.
 */

export const CHUNKS_PER_FRAGMENT = 27;
export const FRAGMENT_BYTES = CHUNKS_PER_FRAGMENT * HASH_BYTES;
const MAX_TRYTE = 13;

/** `@iota/signing subseed`: Kerl of the seed plus the index, as 48 bytes. */
export function subseed(seed: string, index: number): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError('a key index is a non-negative integer');
  const seedTrits = toTrits(seed);
  const padded = new Int8Array(Math.ceil(seedTrits.length / HASH_TRITS) * HASH_TRITS);
  padded.set(seedTrits);
  const preimage = add(padded, fromValue(index));
  const bytes = tritsToChunks(preimage);
  const out = new Uint8Array(HASH_BYTES);
  kerlBytes(bytes, 0, bytes.length, out, 0);
  return out;
}

/** `@iota/signing key`: the private key of `security` fragments, squeezed from the subseed, as bytes. */
export function privateKey(subseedBytes: Uint8Array, security: number): Uint8Array {
  const key = new Uint8Array(security * FRAGMENT_BYTES);
  const input = subseedBytes.slice();
  for (let at = 0; at < key.length; at += HASH_BYTES) {
    keccak384(input, 0, HASH_BYTES, key, at);
    // A Kerl squeeze goes on from the digest with every bit flipped, before it is reduced to trits.
    for (let i = 0; i < HASH_BYTES; i++) input[i] = ~key[at + i];
    normalize(key, at);
  }
  return key;
}

/**
 * The digests of the first `fragments` fragments of `bytes` after each chunk c is hashed `rounds(c)` times: one
 * Kerl hash of each chained fragment. The chains of all fragments pair up (hashChains).
 */
function chainedDigests(bytes: Uint8Array, fragments: number, rounds: (chunk: number) => number): Uint8Array {
  const chained = bytes.slice(0, fragments * FRAGMENT_BYTES);
  hashChains(chained, rounds);
  const out = new Uint8Array(fragments * HASH_BYTES);
  for (let f = 0; f < fragments; f++) kerlBytes(chained, f * FRAGMENT_BYTES, FRAGMENT_BYTES, out, f * HASH_BYTES);
  return out;
}

/** The normalized tryte that chunk c of a run of fragments signs, fragment f signing `normalized[f]`. */
const signedTryte = (normalized: readonly ArrayLike<number>[], c: number) => normalized[Math.floor(c / CHUNKS_PER_FRAGMENT)][c % CHUNKS_PER_FRAGMENT];

/** `@iota/signing digests`: one digest (48 bytes) per key fragment. */
export function keyDigests(key: Uint8Array): Uint8Array {
  return chainedDigests(key, key.length / FRAGMENT_BYTES, () => 2 * MAX_TRYTE);
}

/**
 * `@iota/signing signatureFragment` for the first fragments of `key` at once: fragment f signs the 27 normalized
 * trytes `normalized[f]`. Returns the fragments' bytes, one after the other.
 */
export function signatureFragments(normalized: readonly ArrayLike<number>[], key: Uint8Array): Uint8Array {
  const signature = key.slice(0, normalized.length * FRAGMENT_BYTES);
  hashChains(signature, (c) => MAX_TRYTE - signedTryte(normalized, c));
  return signature;
}

/** `@iota/signing signatureFragment`: key fragment `index` of `key` signs 27 normalized trytes. */
export function signatureFragment(normalized: ArrayLike<number>, key: Uint8Array, index: number): Uint8Array {
  return signatureFragments([normalized], key.subarray(index * FRAGMENT_BYTES));
}

/** `@iota/signing digest` for several fragments at once: fragment f of `signature` signs `normalized[f]`. */
export function fragmentDigests(normalized: readonly ArrayLike<number>[], signature: Uint8Array): Uint8Array {
  return chainedDigests(signature, normalized.length, (c) => MAX_TRYTE + signedTryte(normalized, c));
}

/** `@iota/signing digest`: the digest that a signature fragment of 27 normalized trytes leads to. */
export function fragmentDigest(normalized: ArrayLike<number>, signature: Uint8Array): Uint8Array {
  return fragmentDigests([normalized], signature);
}

/** Trits (whole chunks) as Kerl bytes, 48 a chunk. */
export function tritsToChunks(trits: Int8Array): Uint8Array {
  const bytes = new Uint8Array((trits.length / HASH_TRITS) * HASH_BYTES);
  for (let c = 0; c * HASH_TRITS < trits.length; c++) tritsToBytes(trits, c * HASH_TRITS, bytes, c * HASH_BYTES);
  return bytes;
}

/** Kerl bytes as trits, 243 a chunk. */
export function chunksToTrits(bytes: Uint8Array): Int8Array {
  const trits = new Int8Array((bytes.length / HASH_BYTES) * HASH_TRITS);
  for (let c = 0; c * HASH_BYTES < bytes.length; c++) bytesToTrits(bytes, c * HASH_BYTES, trits, c * HASH_TRITS);
  return trits;
}

/** Kerl bytes as trytes, 81 a chunk, through tryte values: no trits in between. */
export function chunksToTrytes(bytes: Uint8Array): string {
  const values = new Int8Array((bytes.length / HASH_BYTES) * HASH_TRYTE_VALUES);
  for (let c = 0; c * HASH_BYTES < bytes.length; c++) {
    digestTrytes.start(bytes, c * HASH_BYTES);
    values.set(digestTrytes.upTo(HASH_TRYTE_VALUES).subarray(0, HASH_TRYTE_VALUES), c * HASH_TRYTE_VALUES);
  }
  return fromTryteValues(values);
}

/** Trytes (whole chunks of 81) as Kerl bytes, 48 a chunk, through tryte values. */
export function trytesToChunks(trytes: string): Uint8Array {
  const values = toTryteValues(trytes);
  const bytes = new Uint8Array((values.length / HASH_TRYTE_VALUES) * HASH_BYTES);
  for (let c = 0; c * HASH_TRYTE_VALUES < values.length; c++) tryteValuesToBytes(values, c * HASH_TRYTE_VALUES, bytes, c * HASH_BYTES);
  return bytes;
}

/** `@iota/core generateAddress` without a checksum: the Kerl hash of the key's digests, as 81 trytes. */
export function address(seed: string, index: number, security: number): string {
  return toTrytes(kerlHash(keyDigests(privateKey(subseed(seed, index), security))));
}

/** `@iota/signing signatureFragments`: all `security` fragments that sign a bundle hash, as trits. */
export function bundleSignature(seed: string, index: number, security: number, bundleHash: Int8Array): Int8Array {
  const key = privateKey(subseed(seed, index), security);
  const normalized = normalizedBundle(bundleHash);
  const slices = [...Array(security)].map((_, f) => normalized.subarray(f * CHUNKS_PER_FRAGMENT, (f + 1) * CHUNKS_PER_FRAGMENT));
  return chunksToTrits(signatureFragments(slices, key));
}
