import { KECCAK384_BYTES, keccak384 } from './keccak';

/**
 * Kerl on bytes, bit-identical to `@iota/kerl` 1.0.0-beta.30 (the suite compares them on random and edge inputs).
 *
 * Kerl is Keccak-384 over 243-trit chunks. A chunk of balanced trits t_0..t_241 (trit 242 is ignored, as
 * `@iota/kerl` ignores it) is the integer v = sum t_i 3^i, which lies in [-H, H] with H = (3^242 - 1) / 2. Keccak
 * sees v as 48 bytes, a 384-bit big-endian two's complement number. A squeeze turns the 48-byte digest back into
 * trits, which reduces it modulo 3^242 into [-H, H] and leaves trit 242 at 0; the next squeeze hashes the
 * digest's bytes, every bit flipped.
 *
 * Why not @iota/kerl: it converts through 32-bit word arrays and crypto-js, about 250 µs per chunk; this takes about
 * 5 µs. A hash chain (WOTS) need not convert at all: `normalize` does in bytes what a trip through trits does.
 */

export const HASH_TRITS = 243;
export const HASH_BYTES = KECCAK384_BYTES;

/** The integers are held in 16 limbs of 24 bits, least significant first: 16 x 24 = 384, and 3 bytes a limb. */
const LIMBS = 16;
const LIMB = 2 ** 24;
/** Trits are converted 9 at a time: limb x 3^9 stays far below 2^53, and a table maps 0..3^9 - 1 to 9 trits. */
const GROUP_TRITS = 9;
const GROUP = 3 ** GROUP_TRITS;
/** 242 = 26 x 9 + 8: the most significant group holds 8 trits. */
const GROUPS = Math.ceil(242 / GROUP_TRITS);
/**
 * Two groups at a time where it is safe: a limb x 3^18 plus a carry stays below 2^53, so the conversions take
 * half as many passes over the limbs.
 */
const PAIR = GROUP * GROUP;

function limbsOf(value: bigint): Float64Array {
  const limbs = new Float64Array(LIMBS);
  for (let i = 0; i < LIMBS; i++) limbs[i] = Number((value >> BigInt(24 * i)) & BigInt(LIMB - 1));
  return limbs;
}

const THREE_242 = limbsOf(3n ** 242n);
const HALF = limbsOf((3n ** 242n - 1n) / 2n);

/** GROUP_DIGITS[9 n + k] is trit k of n (0 ≤ n < 3^9), as a balanced trit of n - (3^9 - 1) / 2. */
const GROUP_DIGITS = new Int8Array(GROUP * GROUP_TRITS);
for (let n = 0; n < GROUP; n++) {
  for (let k = 0, rest = n; k < GROUP_TRITS; k++, rest = Math.floor(rest / 3)) GROUP_DIGITS[GROUP_TRITS * n + k] = (rest % 3) - 1;
}
/** TRYTES_OF_GROUP[3 n + k] is the value of tryte k (trits 3k .. 3k + 2) of group n, in the same digits. */
const TRYTES_OF_GROUP = new Int8Array(GROUP * 3);
for (let n = 0; n < GROUP; n++) {
  for (let k = 0; k < 3; k++) {
    const at = GROUP_TRITS * n + 3 * k;
    TRYTES_OF_GROUP[3 * n + k] = GROUP_DIGITS[at] + 3 * GROUP_DIGITS[at + 1] + 9 * GROUP_DIGITS[at + 2];
  }
}

const work = new Float64Array(LIMBS);

/** work += addend (mod 2^384); returns the carry out of the top limb. */
function addInto(addend: Float64Array): number {
  let carry = 0;
  for (let i = 0; i < LIMBS; i++) {
    const sum = work[i] + addend[i] + carry;
    carry = sum >= LIMB ? 1 : 0;
    work[i] = sum - carry * LIMB;
  }
  return carry;
}

/** work -= subtrahend (mod 2^384); returns the borrow out of the top limb. */
function subtractFrom(subtrahend: Float64Array): number {
  let borrow = 0;
  for (let i = 0; i < LIMBS; i++) {
    const difference = work[i] - subtrahend[i] - borrow;
    borrow = difference < 0 ? 1 : 0;
    work[i] = difference + borrow * LIMB;
  }
  return borrow;
}

function isAtLeast(limbs: Float64Array): boolean {
  for (let i = LIMBS - 1; i >= 0; i--) if (work[i] !== limbs[i]) return work[i] > limbs[i];
  return true;
}

function readBytes(bytes: Uint8Array, offset: number): void {
  for (let i = 0; i < LIMBS; i++) {
    const at = offset + HASH_BYTES - 3 - 3 * i;
    work[i] = (bytes[at] << 16) | (bytes[at + 1] << 8) | bytes[at + 2];
  }
}

function writeBytes(bytes: Uint8Array, offset: number): void {
  for (let i = 0; i < LIMBS; i++) {
    const at = offset + HASH_BYTES - 3 - 3 * i;
    const limb = work[i];
    bytes[at] = limb >>> 16;
    bytes[at + 1] = limb >>> 8;
    bytes[at + 2] = limb;
  }
}

/** Turns the signed 384-bit `work` into v + H reduced modulo 3^242: the chunk's trits, each plus 1, in base 3. */
function toOffsetForm(): void {
  const negative = work[LIMBS - 1] >= LIMB / 2;
  const carry = addInto(HALF);
  if (negative && carry === 0) addInto(THREE_242); // v < -H: wraps up by 3^242
  else if (!negative && isAtLeast(THREE_242)) subtractFrom(THREE_242); // v > H: wraps down
}

/** Kerl's trits-to-bytes: trits[offset .. offset + 241] as 48 bytes of `out` from `outOffset`. */
export function tritsToBytes(trits: ArrayLike<number>, offset: number, out: Uint8Array, outOffset: number): void {
  groupsToBytes((g) => groupValue(trits, offset, g), out, outOffset);
}

/**
 * tritsToBytes for a chunk given as 81 tryte values (-13 .. 13) from `offset`, with no trits in between: a tryte
 * plus 13 is its three trits plus 1 in base 3, so three trytes make a group. Tryte 80's top trit (242) is ignored.
 */
export function tryteValuesToBytes(values: ArrayLike<number>, offset: number, out: Uint8Array, outOffset: number): void {
  groupsToBytes(
    (g) => {
      const at = offset + 3 * g;
      const top = values[at + 2] + 13;
      return values[at] + 13 + 27 * (values[at + 1] + 13) + 729 * (g === GROUPS - 1 ? top % 9 : top);
    },
    out,
    outOffset,
  );
}

/** The 48 bytes of the chunk whose group g (trits plus 1, in base 3) is `groupAt(g)`. */
function groupsToBytes(groupAt: (g: number) => number, out: Uint8Array, outOffset: number): void {
  work.fill(0);
  // Horner's rule from the most significant pair of groups down: work = work x 3^18 + pair.
  for (let g = GROUPS - 1; g >= 0; g -= 2) {
    // 27 groups: pairs (26, 25) .. (2, 1), then group 0 alone.
    const alone = g === 0;
    let carry = alone ? groupAt(0) : GROUP * groupAt(g) + groupAt(g - 1);
    const factor = alone ? GROUP : PAIR;
    for (let i = 0; i < LIMBS; i++) {
      const product = work[i] * factor + carry;
      carry = Math.floor(product / LIMB);
      work[i] = product - carry * LIMB;
    }
  }
  subtractFrom(HALF);
  writeBytes(out, outOffset);
}

/** Group g of a chunk's trits, each plus 1, as a base-3 number. */
function groupValue(trits: ArrayLike<number>, offset: number, g: number): number {
  const from = offset + g * GROUP_TRITS;
  let group = 0;
  for (let k = Math.min(GROUP_TRITS, 242 - g * GROUP_TRITS) - 1; k >= 0; k--) group = 3 * group + trits[from + k] + 1;
  return group;
}

/**
 * Divides `work` by 3^18 in place and returns the remainder: the next two groups, least significant first. The
 * quotient of a dividend below 2^53 by 3^18 may round up by one in floating point, hence the correction.
 */
function dividePair(): number {
  while (top > 0 && work[top] === 0) top--;
  let remainder = 0;
  for (let i = top; i >= 0; i--) {
    const dividend = remainder * LIMB + work[i];
    let quotient = Math.floor(dividend / PAIR);
    remainder = dividend - quotient * PAIR;
    if (remainder < 0) {
      quotient--;
      remainder += PAIR;
    }
    work[i] = quotient;
  }
  return remainder;
}

/** The most significant limb of `work` that may be non-zero, while dividing. */
let top = LIMBS - 1;

function startDividing(bytes: Uint8Array, offset: number): void {
  readBytes(bytes, offset);
  toOffsetForm();
  top = LIMBS - 1;
}

/** Kerl's bytes-to-trits: 48 bytes as 243 trits of `out` from `outOffset`, the last one 0. */
export function bytesToTrits(bytes: Uint8Array, offset: number, out: Int8Array, outOffset: number): void {
  startDividing(bytes, offset);
  for (let g = 0; g < GROUPS; g += 2) {
    const pair = dividePair();
    const high = Math.floor(pair / GROUP);
    writeGroup(pair - high * GROUP, g, out, outOffset);
    if (g + 1 < GROUPS) writeGroup(high, g + 1, out, outOffset);
  }
  out[outOffset + 242] = 0;
}

function writeGroup(group: number, g: number, out: Int8Array, outOffset: number): void {
  const count = Math.min(GROUP_TRITS, 242 - g * GROUP_TRITS);
  const to = outOffset + g * GROUP_TRITS;
  for (let k = 0; k < count; k++) out[to + k] = GROUP_DIGITS[GROUP_TRITS * group + k];
}

/** Tryte values (-13 .. 13) a hash holds: 81, the last one's top trit (trit 242) 0. */
export const HASH_TRYTE_VALUES = HASH_TRITS / 3;
/** The trytes that one division by 3^18 yields. */
const TRYTES_PER_PAIR = (2 * GROUP_TRITS) / 3;

/**
 * The tryte values of a 48-byte digest, read lazily from the least significant: `digestTrytes.start(bytes)`, then
 * `upTo(n)` makes sure that `values[0 .. n)` are there and returns them. What bytesToTrits would give, summed three
 * trits a tryte, for a fraction of its cost when only the first fragments are looked at (a bundle's obsoleteTag
 * search rejects most hashes in the first 27 trytes).
 */
export const digestTrytes = {
  values: new Int8Array(HASH_TRYTE_VALUES + TRYTES_PER_PAIR),
  ready: 0,
  start(bytes: Uint8Array, offset = 0): void {
    startDividing(bytes, offset);
    this.ready = 0;
  },
  upTo(count: number): Int8Array {
    while (this.ready < count) {
      const pair = dividePair();
      const high = Math.floor(pair / GROUP);
      const [low, at, values] = [3 * (pair - high * GROUP), this.ready, this.values];
      values[at] = TRYTES_OF_GROUP[low];
      values[at + 1] = TRYTES_OF_GROUP[low + 1];
      values[at + 2] = TRYTES_OF_GROUP[low + 2];
      values[at + 3] = TRYTES_OF_GROUP[3 * high];
      values[at + 4] = TRYTES_OF_GROUP[3 * high + 1];
      values[at + 5] = TRYTES_OF_GROUP[3 * high + 2];
      this.ready += TRYTES_PER_PAIR;
      // Trit 242 is the top trit of the last tryte: always 0, where the table reads digit 0 as -1.
      if (this.ready > HASH_TRYTE_VALUES) this.values[HASH_TRYTE_VALUES - 1] += 9;
    }
    return this.values;
  },
};

/** Big-endian two's complement bytes of a 384-bit integer. */
function bytesOf(value: bigint): Uint8Array {
  const bytes = new Uint8Array(HASH_BYTES);
  for (let i = 0; i < HASH_BYTES; i++) bytes[HASH_BYTES - 1 - i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return bytes;
}

const HALF_BYTES = bytesOf((3n ** 242n - 1n) / 2n);
const MINUS_HALF_BYTES = bytesOf(2n ** 384n - (3n ** 242n - 1n) / 2n);
const THREE_242_BYTES = bytesOf(3n ** 242n);

/** Compares 48 bytes at `offset` with `than`, as unsigned big-endian numbers: <0, 0 or >0. */
function compareBytes(bytes: Uint8Array, offset: number, than: Uint8Array): number {
  for (let i = 0; i < HASH_BYTES; i++) if (bytes[offset + i] !== than[i]) return bytes[offset + i] - than[i];
  return 0;
}

/**
 * In place: the bytes that a trip through trits would give (bytesToTrits, then tritsToBytes), without the trip:
 * v stays when it lies in [-H, H] (about half of all digests, decided by the first byte or two), else 3^242 is
 * added or subtracted once.
 */
export function normalize(bytes: Uint8Array, offset: number): void {
  const negative = bytes[offset] >= 0x80;
  const sign = negative ? (compareBytes(bytes, offset, MINUS_HALF_BYTES) < 0 ? 1 : 0) : compareBytes(bytes, offset, HALF_BYTES) > 0 ? -1 : 0;
  if (sign === 0) return;
  // v + sign x 3^242, modulo 2^384, byte by byte from the least significant.
  let carry = 0;
  for (let i = HASH_BYTES - 1; i >= 0; i--) {
    const sum = bytes[offset + i] + sign * THREE_242_BYTES[i] + carry;
    carry = sum >> 8;
    bytes[offset + i] = sum;
  }
}

const POWERS_OF_THREE = new Map<number, Uint8Array>();

/**
 * In place: the 48-byte integer at `offset` plus 3^place, modulo 2^384. For a chunk whose trit `place` goes up by
 * one with no carry out of the chunk's field, these are the bytes that tritsToBytes would give, for a fraction of
 * its cost.
 */
export function addPowerOfThree(bytes: Uint8Array, offset: number, place: number): void {
  let power = POWERS_OF_THREE.get(place);
  if (!power) POWERS_OF_THREE.set(place, (power = bytesOf(3n ** BigInt(place))));
  let carry = 0;
  for (let i = HASH_BYTES - 1; i >= 0; i--) {
    const sum = bytes[offset + i] + power[i] + carry;
    carry = sum >> 8;
    bytes[offset + i] = sum;
  }
}

/** One Kerl hash of `length` bytes (whole chunks) from `offset`, normalized, into `out` at `outOffset`. */
export function kerlBytes(input: Uint8Array, offset: number, length: number, out: Uint8Array, outOffset: number): void {
  keccak384(input, offset, length, out, outOffset);
  normalize(out, outOffset);
}

/** The Kerl hash (one squeeze) of whole chunks given as bytes, as 243 trits: what absorb and squeeze would give. */
export function kerlHash(chunks: Uint8Array): Int8Array {
  const digest = new Uint8Array(HASH_BYTES);
  keccak384(chunks, 0, chunks.length, digest, 0);
  const hash = new Int8Array(HASH_TRITS);
  bytesToTrits(digest, 0, hash, 0);
  return hash;
}

/**
 * The `@iota/kerl` sponge interface on trits, for whole chunks: absorb, squeeze (several times if need be), reset.
 * For a hash over many chunks at once (bundle hashes, addresses) and for the tests that compare it with @iota/kerl.
 */
export class Kerl {
  private absorbed = new Uint8Array(HASH_BYTES * 8);
  private length = 0;
  private readonly digest = new Uint8Array(HASH_BYTES);

  reset(): void {
    this.length = 0;
  }

  absorb(trits: ArrayLike<number>, offset: number, length: number): void {
    checkChunks(length);
    const needed = this.length + (length / HASH_TRITS) * HASH_BYTES;
    if (needed > this.absorbed.length) {
      const grown = new Uint8Array(Math.max(needed, 2 * this.absorbed.length));
      grown.set(this.absorbed.subarray(0, this.length));
      this.absorbed = grown;
    }
    for (let at = offset; at < offset + length; at += HASH_TRITS) {
      tritsToBytes(trits, at, this.absorbed, this.length);
      this.length += HASH_BYTES;
    }
  }

  squeeze(trits: Int8Array, offset: number, length: number): void {
    checkChunks(length);
    for (let at = offset; at < offset + length; at += HASH_TRITS) {
      keccak384(this.absorbed, 0, this.length, this.digest, 0);
      bytesToTrits(this.digest, 0, trits, at);
      for (let i = 0; i < HASH_BYTES; i++) this.absorbed[i] = ~this.digest[i];
      this.length = HASH_BYTES;
    }
  }
}

function checkChunks(length: number): void {
  if (!Number.isInteger(length) || length <= 0 || length % HASH_TRITS !== 0) {
    throw new RangeError(`Kerl takes whole chunks of ${HASH_TRITS} trits, not ${length}`);
  }
}
