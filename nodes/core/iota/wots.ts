import { fromValue } from '@iota/converter';
import { add, normalizedBundle } from '@iota/signing';
import { bytesToTrits, digestTrytes, HASH_BYTES, HASH_TRITS, HASH_TRYTE_VALUES, kerlBytes, kerlHash, normalize, tritsToBytes, tryteValuesToBytes } from './kerl';
import { keccak384 } from './keccak';
import { instantiateKerlChains, type KerlChainPair } from './kerl-chains-wasm';
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

/** undefined until first used; null where WebAssembly SIMD is missing. */
let pair: KerlChainPair | null | undefined;

/**
 * Hashes each chunk j of `buffer` `rounds(j)` times, in place: two chains at a time where WebAssembly SIMD runs
 * (kerl-chains-wasm.ts); when one ends, the next chunk takes its lane. Else one chain at a time.
 */
export function hashChains(buffer: Uint8Array, rounds: (chunk: number) => number): void {
  if (pair === undefined) pair = instantiateKerlChains();
  const chunks = buffer.length / HASH_BYTES;
  if (pair === null) {
    for (let j = 0; j < chunks; j++) for (let r = rounds(j); r > 0; r--) kerlBytes(buffer, j * HASH_BYTES, HASH_BYTES, buffer, j * HASH_BYTES);
    return;
  }
  const lanes = pair;
  const chunkOf = [-1, -1];
  const left = [0, 0];
  let next = 0;
  const take = (lane: number) => {
    while (next < chunks && rounds(next) === 0) next++;
    chunkOf[lane] = next < chunks ? next : -1;
    if (next === chunks) return;
    left[lane] = rounds(next);
    lanes.load(lane, buffer, next * HASH_BYTES);
    next++;
  };
  take(0);
  take(1);
  while (chunkOf[0] >= 0 || chunkOf[1] >= 0) {
    // A lane with no chunk left runs along with the other, on what it holds, and is not read.
    const count = chunkOf[0] < 0 ? left[1] : chunkOf[1] < 0 ? left[0] : Math.min(left[0], left[1]);
    lanes.run(count);
    for (const lane of [0, 1]) {
      if (chunkOf[lane] < 0) continue;
      left[lane] -= count;
      if (left[lane] > 0) continue;
      lanes.store(lane, buffer, chunkOf[lane] * HASH_BYTES);
      take(lane);
    }
  }
}

/** Hashes each chunk j of a fragment `rounds(j)` times, in place, then digests the fragment into `out`. */
function chainAndDigest(fragment: Uint8Array, rounds: (chunk: number) => number, out: Uint8Array, outOffset: number): void {
  hashChains(fragment, rounds);
  kerlBytes(fragment, 0, FRAGMENT_BYTES, out, outOffset);
}

/** `@iota/signing digests`: one digest (48 bytes) per key fragment. */
export function keyDigests(key: Uint8Array): Uint8Array {
  const fragments = key.length / FRAGMENT_BYTES;
  const chained = key.slice();
  hashChains(chained, () => 2 * MAX_TRYTE);
  const out = new Uint8Array(fragments * HASH_BYTES);
  for (let f = 0; f < fragments; f++) kerlBytes(chained, f * FRAGMENT_BYTES, FRAGMENT_BYTES, out, f * HASH_BYTES);
  return out;
}

/** `@iota/signing signatureFragment`: key fragment `index` of `key` signs 27 normalized trytes. */
export function signatureFragment(normalized: ArrayLike<number>, key: Uint8Array, index: number): Uint8Array {
  const fragment = key.slice(index * FRAGMENT_BYTES, (index + 1) * FRAGMENT_BYTES);
  hashChains(fragment, (j) => MAX_TRYTE - normalized[j]);
  return fragment;
}

/** `@iota/signing digest`: the digest that a signature fragment of 27 normalized trytes leads to. */
export function fragmentDigest(normalized: ArrayLike<number>, signature: Uint8Array): Uint8Array {
  const out = new Uint8Array(HASH_BYTES);
  chainAndDigest(signature.slice(), (j) => MAX_TRYTE + normalized[j], out, 0);
  return out;
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
  const signature = new Int8Array(security * CHUNKS_PER_FRAGMENT * HASH_TRITS);
  for (let f = 0; f < security; f++) {
    const fragment = chunksToTrits(signatureFragment(normalized.subarray(f * CHUNKS_PER_FRAGMENT, (f + 1) * CHUNKS_PER_FRAGMENT), key, f));
    signature.set(fragment, f * CHUNKS_PER_FRAGMENT * HASH_TRITS);
  }
  return signature;
}
