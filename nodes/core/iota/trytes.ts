import { trits } from '@iota/converter';

/** Small checks on IOTA strings, shared by the core modules. Nothing here needs a network. */

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
  return isTrytes(value, HASH_TRYTES) && trits(value)[HASH_TRYTES * 3 - 1] === 0;
}

/** A seed: exactly 81 trytes. Shorter seeds are padded by the libraries and are not secure. */
export function isSeed(value: unknown): value is string {
  return isTrytes(value, HASH_TRYTES);
}
