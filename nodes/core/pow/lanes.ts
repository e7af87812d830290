/**
 * What both Curl-P-81 transforms share: the bit-sliced state layout and the round's read order.
 *
 * Each trit of the 729-trit Curl state is held in two bit planes, one bit per candidate ("lane"):
 * trit -1 = (low 1, high 0), trit 0 = (1, 1), trit +1 = (0, 1). The Curl substitution table then becomes a few
 * bitwise operations on whole words, so one pass transforms many different states at once.
 */
export const HASH_LENGTH = 243;
export const STATE_LENGTH = 729;
export const ROUNDS = 81;
const ALL = -1;

/**
 * Output trit i of a Curl round combines state trits a_i and b_i, where a_0 = 0, b_i = a_i + 364 (or - 365 past
 * the middle) and a_{i+1} = b_i. READ_B holds the b_i sequence.
 */
export const READ_B = new Int16Array(STATE_LENGTH);
{
  let index = 0;
  for (let i = 0; i < STATE_LENGTH; i++) {
    index += index < 365 ? 364 : -365;
    READ_B[i] = index;
  }
}

/** Lane l of trit i is bit l % 32 of word i * wordsPerTrit + l / 32, in both planes. */
export interface BitPlanes {
  readonly low: Int32Array;
  readonly high: Int32Array;
}

export type PowBackend = 'wasm-simd' | 'js';

/** A Curl-P-81 transform of `lanes` states at once. */
export interface LaneCurl {
  readonly backend: PowBackend;
  readonly lanes: number;
  /** What `transform` reads; left as it is. Starts as all trits 0, like a fresh Curl sponge. */
  readonly state: BitPlanes;
  /** Where `transform` writes its result. */
  readonly result: BitPlanes;
  transform(): void;
  /** The first lane whose result ends in `mwm` zero trits (state trits 243 - mwm .. 242), or -1. */
  firstZeroLane(mwm: number): number;
}

function wordsPerTrit(planes: BitPlanes): number {
  return planes.low.length / STATE_LENGTH;
}

/** Sets trit i to the same value in every lane. */
export function setTrit(planes: BitPlanes, i: number, trit: number): void {
  const words = wordsPerTrit(planes);
  planes.low.fill(trit === 1 ? 0 : ALL, i * words, (i + 1) * words);
  planes.high.fill(trit === -1 ? 0 : ALL, i * words, (i + 1) * words);
}

/** Sets one lane of trit i. */
export function setLaneTrit(planes: BitPlanes, i: number, lane: number, trit: number): void {
  const word = i * wordsPerTrit(planes) + (lane >>> 5);
  const bit = 1 << (lane & 31);
  planes.low[word] = trit === 1 ? planes.low[word] & ~bit : planes.low[word] | bit;
  planes.high[word] = trit === -1 ? planes.high[word] & ~bit : planes.high[word] | bit;
}

export function laneTrit(planes: BitPlanes, i: number, lane: number): number {
  const word = i * wordsPerTrit(planes) + (lane >>> 5);
  const low = (planes.low[word] >>> (lane & 31)) & 1;
  const high = (planes.high[word] >>> (lane & 31)) & 1;
  return low && high ? 0 : low ? -1 : 1;
}

/** The lowest set bit of `mask` as a lane number, counting `word` words of 32 lanes before it. */
export function lowestLane(word: number, mask: number): number {
  return word * 32 + 31 - Math.clz32(mask & -mask);
}
