import { keccak384 } from './keccak';
import { instantiateKeccakPair, type KeccakPair } from './keccak-pair-wasm';
import { HASH_BYTES, kerlBytes } from './kerl';

/**
 * Hashing that pairs up, two at a time where WebAssembly SIMD runs (keccak-pair-wasm.ts), one at a time where it
 * does not (node --jitless): both give the same bytes, which the suite checks.
 */

/** undefined until first used; null where WebAssembly SIMD is missing. */
let pair: KeccakPair | null | undefined;

function keccakPair(): KeccakPair | null {
  if (pair === undefined) pair = instantiateKeccakPair();
  return pair;
}

/**
 * Hashes each chunk j of `buffer` `rounds(j)` times, in place (each round one Kerl hash of the chunk): two chains
 * at a time; when one ends, the next chunk takes its lane.
 */
export function hashChains(buffer: Uint8Array, rounds: (chunk: number) => number): void {
  const lanes = keccakPair();
  const chunks = buffer.length / HASH_BYTES;
  if (lanes === null) {
    for (let j = 0; j < chunks; j++) for (let r = rounds(j); r > 0; r--) kerlBytes(buffer, j * HASH_BYTES, HASH_BYTES, buffer, j * HASH_BYTES);
    return;
  }
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

/**
 * Keccak-384 of `message` (whole words, at least two chunks) into `digests[0 .. 48)`, and of the same message with
 * its second chunk (bytes 48 .. 95) replaced by `alternative` into `digests[48 .. 96)`: two tries of a bundle's
 * obsoleteTag at the cost of about one.
 */
export function hashTries(message: Uint8Array, alternative: Uint8Array, digests: Uint8Array): void {
  const lanes = keccakPair();
  if (lanes !== null) return lanes.tries(message, alternative, digests);
  keccak384(message, 0, message.length, digests, 0);
  const second = message.slice();
  second.set(alternative, HASH_BYTES);
  keccak384(second, 0, second.length, digests, HASH_BYTES);
}
