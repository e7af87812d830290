/**
 * Small checks on IOTA strings and the conversions between trytes and trits, shared by the core modules. Nothing
 * here needs a network.
 */

export const HASH_TRYTES = 81;

const TRYTES = /^[9A-Z]*$/;

export function isTrytes(value: unknown, length?: number): value is string {
  return typeof value === 'string' && TRYTES.test(value) && (length === undefined || value.length === length);
}

/**
 * An address that may receive value: exactly 81 trytes (no checksum) whose last trit is 0. Validating nodes and
 * `isBundle` reject a value transaction to any other address, so a settlement to it could never be attached.
 */
export function isValueAddress(value: unknown): value is string {
  return isTrytes(value, HASH_TRYTES) && toTrits(value)[HASH_TRYTES * 3 - 1] === 0;
}

/** A seed: exactly 81 trytes. Shorter seeds are padded by the libraries and are not secure. */
export function isSeed(value: unknown): value is string {
  return isTrytes(value, HASH_TRYTES);
}

const TRYTE_ALPHABET = '9ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** The character code of the tryte whose value (t0 + 3 t1 + 9 t2) is i - 13. */
const CODE_OF_VALUE = Uint8Array.from({ length: 27 }, (_, i) => TRYTE_ALPHABET.charCodeAt((i + 14) % 27));
/** A tryte's three trits, by character code (ASCII); 2 in the first trit marks a character that is no tryte. */
const TRITS_OF_CODE = new Int8Array(128 * 3).fill(2);
/** The least significant balanced trit of n. */
const lowTrit = (n: number): number => ((((n + 1) % 3) + 3) % 3) - 1;
for (let v = -13; v <= 13; v++) {
  const t0 = lowTrit(v);
  const t1 = lowTrit((v - t0) / 3);
  TRITS_OF_CODE.set([t0, t1, (v - t0 - 3 * t1) / 9], 3 * CODE_OF_VALUE[v + 13]);
}

/**
 * `@iota/converter trytes`, for whole trytes: trits[offset .. offset + length] as a tryte string. The library
 * builds the string a character at a time with Math.pow; this writes the codes into a buffer and decodes it once,
 * many times faster (the suite compares them), which counts where signatures (2,187 trytes each) are converted.
 */
export function toTrytes(trits: ArrayLike<number>, offset = 0, length = trits.length - offset): string {
  if (length % 3 !== 0) throw new Error('Invalid trits length');
  const codes = Buffer.allocUnsafe(length / 3);
  for (let i = 0, t = offset; i < codes.length; i++, t += 3) codes[i] = CODE_OF_VALUE[trits[t] + 3 * trits[t + 1] + 9 * trits[t + 2] + 13];
  return codes.toString('latin1');
}

/** `@iota/converter trits` for a tryte string: its trits, three a tryte; throws 'Invalid trytes' as the library does. */
export function toTrits(trytes: string): Int8Array {
  const trits = new Int8Array(3 * trytes.length);
  for (let i = 0; i < trytes.length; i++) {
    const at = 3 * trytes.charCodeAt(i);
    if (at >= TRITS_OF_CODE.length || TRITS_OF_CODE[at] === 2) throw new Error('Invalid trytes');
    trits[3 * i] = TRITS_OF_CODE[at];
    trits[3 * i + 1] = TRITS_OF_CODE[at + 1];
    trits[3 * i + 2] = TRITS_OF_CODE[at + 2];
  }
  return trits;
}

/** A tryte string as tryte values (-13 .. 13), one a tryte; throws 'Invalid trytes' as toTrits does. */
export function toTryteValues(trytes: string): Int8Array {
  const values = new Int8Array(trytes.length);
  for (let i = 0; i < trytes.length; i++) {
    const at = 3 * trytes.charCodeAt(i);
    if (at >= TRITS_OF_CODE.length || TRITS_OF_CODE[at] === 2) throw new Error('Invalid trytes');
    values[i] = TRITS_OF_CODE[at] + 3 * TRITS_OF_CODE[at + 1] + 9 * TRITS_OF_CODE[at + 2];
  }
  return values;
}

/** Tryte values (-13 .. 13) as a tryte string. */
export function fromTryteValues(values: ArrayLike<number>): string {
  const codes = Buffer.allocUnsafe(values.length);
  for (let i = 0; i < codes.length; i++) codes[i] = CODE_OF_VALUE[values[i] + 13];
  return codes.toString('latin1');
}
