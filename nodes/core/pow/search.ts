/**
 * Proof-of-work nonce search for legacy IOTA transactions: bit-sliced Curl-P-81, 32 nonce candidates per transform.
 *
 * Each trit of the 729-trit Curl state is held in two bit planes, one bit per candidate ("lane"):
 * trit -1 = (low 1, high 0), trit 0 = (1, 1), trit +1 = (0, 1). The Curl substitution table then becomes a few
 * bitwise operations, so one pass over Int32 words transforms 32 different states at once.
 *
 * The transaction's first 7776 trits (32 blocks of 243) do not depend on the nonce, so they are absorbed once
 * (the "mid state"). Every candidate then only needs the last block, whose final 81 trits are the nonce:
 * - nonce trits 0..3 differ per lane (the lane number in base 3),
 * - nonce trits 4..7 hold the partition number, so several workers search disjoint spaces,
 * - nonce trits 8..80 are a counter shared by all lanes.
 * A candidate is good when the last `mwm` trits of its hash (state trits 0..242) are all 0.
 */
const HASH_LENGTH = 243;
const STATE_LENGTH = 729;
const ROUNDS = 81;
const TRANSACTION_LENGTH = 8019;
const NONCE_OFFSET = TRANSACTION_LENGTH - 81;
const LAST_BLOCK_OFFSET = TRANSACTION_LENGTH - HASH_LENGTH;
const NONCE_IN_BLOCK = NONCE_OFFSET - LAST_BLOCK_OFFSET;
const LANE_TRITS = 4;
const PARTITION_TRITS = 4;
const COUNTER_FROM = LANE_TRITS + PARTITION_TRITS;
export const MAX_PARTITIONS = 81;
const ALL = -1;

/**
 * Output trit i of a Curl round combines state trits a_i and b_i, where a_0 = 0, b_i = a_i + 364 (or - 365 past
 * the middle) and a_{i+1} = b_i. READ_B holds the b_i sequence.
 */
const READ_B = new Int16Array(STATE_LENGTH);
{
  let index = 0;
  for (let i = 0; i < STATE_LENGTH; i++) {
    index += index < 365 ? 364 : -365;
    READ_B[i] = index;
  }
}

/** Starts as all trits 0 (both planes set), like a fresh Curl sponge. */
class BitState {
  low = new Int32Array(STATE_LENGTH).fill(ALL);
  high = new Int32Array(STATE_LENGTH).fill(ALL);

  setTrit(i: number, trit: number): void {
    this.low[i] = trit === 1 ? 0 : ALL;
    this.high[i] = trit === -1 ? 0 : ALL;
  }

  copyFrom(other: BitState): void {
    this.low.set(other.low);
    this.high.set(other.high);
  }
}

/**
 * 81 rounds of Curl-P on all 32 lanes. `input` is left as it is; the rounds alternate between `one` and `two`, and
 * the one holding the result is returned.
 */
function transform(input: BitState, one: BitState, two: BitState): BitState {
  let from = input;
  let to = one;
  for (let round = 0; round < ROUNDS; round++) {
    const fl = from.low;
    const fh = from.high;
    const tl = to.low;
    const th = to.high;
    let a = 0;
    for (let i = 0; i < STATE_LENGTH; i++) {
      const b = READ_B[i];
      const aLow = fl[a];
      const bHigh = fh[b];
      const delta = (aLow | ~bHigh) & (fl[b] ^ fh[a]);
      tl[i] = ~delta;
      th[i] = (aLow ^ bHigh) | delta;
      a = b;
    }
    from = to;
    to = to === one ? two : one;
  }
  return from;
}

export interface SearchJob {
  /** The transaction trits (8019) with every field but the nonce final. */
  trits: Int8Array;
  minWeightMagnitude: number;
  partition: number;
  /** Polled between batches of candidates; true stops the search. */
  shouldStop: () => boolean;
}

export interface SearchResult {
  /** The 81 nonce trits, or null when stopped. */
  nonce: Int8Array | null;
  /** Number of nonce candidates tried. */
  tried: number;
}

export function searchNonce(job: SearchJob): SearchResult {
  const { trits, minWeightMagnitude: mwm, partition } = job;
  if (trits.length !== TRANSACTION_LENGTH) throw new RangeError('a transaction has 8019 trits');
  if (!Number.isInteger(mwm) || mwm < 1 || mwm > HASH_LENGTH) throw new RangeError('minWeightMagnitude must be 1..243');
  if (!Number.isInteger(partition) || partition < 0 || partition >= MAX_PARTITIONS) throw new RangeError('bad partition');

  const base = new BitState();
  const one = new BitState();
  const two = new BitState();
  for (let offset = 0; offset < LAST_BLOCK_OFFSET; offset += HASH_LENGTH) {
    for (let i = 0; i < HASH_LENGTH; i++) base.setTrit(i, trits[offset + i]);
    base.copyFrom(transform(base, one, two));
  }
  for (let i = 0; i < NONCE_IN_BLOCK; i++) base.setTrit(i, trits[LAST_BLOCK_OFFSET + i]);
  for (let t = 0; t < LANE_TRITS; t++) {
    let low = 0;
    let high = 0;
    for (let lane = 0; lane < 32; lane++) {
      const trit = (Math.floor(lane / 3 ** t) % 3) - 1;
      if (trit !== 1) low |= 1 << lane;
      if (trit !== -1) high |= 1 << lane;
    }
    base.low[NONCE_IN_BLOCK + t] = low;
    base.high[NONCE_IN_BLOCK + t] = high;
  }
  for (let t = 0; t < PARTITION_TRITS; t++) {
    base.setTrit(NONCE_IN_BLOCK + LANE_TRITS + t, (Math.floor(partition / 3 ** t) % 3) - 1);
  }
  const counter = new Int8Array(81 - COUNTER_FROM).fill(-1);
  for (let t = 0; t < counter.length; t++) base.setTrit(NONCE_IN_BLOCK + COUNTER_FROM + t, -1);

  let tried = 0;
  for (;;) {
    if ((tried & 0xff) === 0 && job.shouldStop()) return { nonce: null, tried };
    const hash = transform(base, one, two);
    tried += 32;
    let found = ALL;
    for (let i = HASH_LENGTH - mwm; i < HASH_LENGTH && found !== 0; i++) found &= hash.low[i] & hash.high[i];
    if (found !== 0) return { nonce: nonceOfLane(base, 31 - Math.clz32(found & -found)), tried };
    incrementCounter(base, counter);
  }
}

function incrementCounter(base: BitState, counter: Int8Array): void {
  for (let t = 0; t < counter.length; t++) {
    const next = counter[t] === 1 ? -1 : counter[t] + 1;
    counter[t] = next;
    base.setTrit(NONCE_IN_BLOCK + COUNTER_FROM + t, next);
    if (next !== -1) return;
  }
}

function nonceOfLane(base: BitState, lane: number): Int8Array {
  const nonce = new Int8Array(81);
  for (let t = 0; t < 81; t++) {
    const low = (base.low[NONCE_IN_BLOCK + t] >>> lane) & 1;
    const high = (base.high[NONCE_IN_BLOCK + t] >>> lane) & 1;
    nonce[t] = low && high ? 0 : low ? -1 : 1;
  }
  return nonce;
}
