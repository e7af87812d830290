import type { AttachToTangle } from '@iota/core';
import { fromValue, value as tritsToValue } from '@iota/converter';
import { toTrits, toTrytes } from '../iota/trytes';
import {
  ATTACHMENT_TIMESTAMP_LENGTH,
  ATTACHMENT_TIMESTAMP_LOWER_BOUND_OFFSET,
  ATTACHMENT_TIMESTAMP_OFFSET,
  ATTACHMENT_TIMESTAMP_UPPER_BOUND_OFFSET,
  BRANCH_TRANSACTION_OFFSET,
  CURRENT_INDEX_LENGTH,
  CURRENT_INDEX_OFFSET,
  OBSOLETE_TAG_OFFSET,
  TAG_LENGTH,
  TAG_OFFSET,
  TRANSACTION_NONCE_OFFSET,
  TRUNK_TRANSACTION_OFFSET,
  isTransaction,
} from '@iota/transaction';
import { PowPool } from './pool';
import { transactionHashTrits } from './search';

const TRYTES_PATTERN = /^[9A-Z]+$/;
/** The largest attachment timestamp, (3^27 - 1) / 2, used as the upper bound as IRI does. */
const MAX_TIMESTAMP = (3 ** 27 - 1) / 2;

export interface AttachOptions {
  pool: PowPool;
  signal?: AbortSignal;
  /** Clock for the attachment timestamp, in ms. */
  now?: () => number;
}

/**
 * Attaches transactions the way IRI's attachToTangle does: sorted by currentIndex from the head down, the head
 * approves (trunk, branch), every other transaction approves the one attached before it (trunk) and `trunk`
 * (branch); an all-9 tag takes the obsolete tag; attachment timestamps are set; then each one gets a nonce.
 * Returns the attached trytes tail first. Every result is checked with isTransaction(trits, mwm).
 * Bad arguments reject with a RangeError, a cancelled search with PowCancelledError.
 */
export async function attachTrytes(
  trunkTransaction: string,
  branchTransaction: string,
  minWeightMagnitude: number,
  trytes: readonly string[],
  options: AttachOptions,
): Promise<string[]> {
  for (const hash of [trunkTransaction, branchTransaction]) {
    if (typeof hash !== 'string' || hash.length !== 81 || !TRYTES_PATTERN.test(hash)) throw new RangeError('Invalid trunk or branch transaction hash');
  }
  if (!Number.isInteger(minWeightMagnitude) || minWeightMagnitude < 1 || minWeightMagnitude > 243) {
    throw new RangeError('Invalid minWeightMagnitude: an integer 1..243');
  }
  const transactions = trytes.map((t) => {
    if (typeof t !== 'string' || t.length !== 2673 || !TRYTES_PATTERN.test(t)) throw new RangeError('Invalid transaction trytes');
    const tx = toTrits(t);
    if (!isTransaction(tx)) throw new RangeError('Invalid value transaction: its address does not end in trit 0');
    return tx;
  });
  transactions.sort((a, b) => currentIndexOf(b) - currentIndexOf(a));

  const now = options.now ?? Date.now;
  const attached: string[] = [];
  let previousHash: Int8Array | null = null;
  for (const tx of transactions) {
    tx.set(previousHash ?? toTrits(trunkTransaction), TRUNK_TRANSACTION_OFFSET);
    tx.set(toTrits(previousHash ? trunkTransaction : branchTransaction), BRANCH_TRANSACTION_OFFSET);
    if (tx.subarray(TAG_OFFSET, TAG_OFFSET + TAG_LENGTH).every((t) => t === 0)) {
      tx.copyWithin(TAG_OFFSET, OBSOLETE_TAG_OFFSET, OBSOLETE_TAG_OFFSET + TAG_LENGTH);
    }
    tx.set(timestampTrits(now()), ATTACHMENT_TIMESTAMP_OFFSET);
    tx.set(timestampTrits(0), ATTACHMENT_TIMESTAMP_LOWER_BOUND_OFFSET);
    tx.set(timestampTrits(MAX_TIMESTAMP), ATTACHMENT_TIMESTAMP_UPPER_BOUND_OFFSET);
    const { nonce } = await options.pool.search(tx, minWeightMagnitude, options.signal);
    tx.set(nonce, TRANSACTION_NONCE_OFFSET);
    previousHash = transactionHashTrits(tx);
    if (!previousHash.subarray(previousHash.length - minWeightMagnitude).every((t) => t === 0)) throw new Error('proof of work produced an invalid transaction');
    attached.unshift(toTrytes(tx));
  }
  return attached;
}

function currentIndexOf(tx: Int8Array): number {
  return tritsToValue(tx.subarray(CURRENT_INDEX_OFFSET, CURRENT_INDEX_OFFSET + CURRENT_INDEX_LENGTH));
}

function timestampTrits(ms: number): Int8Array {
  const out = new Int8Array(ATTACHMENT_TIMESTAMP_LENGTH);
  out.set(fromValue(ms));
  return out;
}

let defaultPool: PowPool | null = null;

/** The one-worker pool behind `localAttachToTangle`, started on first use. */
function sharedPool(): PowPool {
  defaultPool ??= new PowPool(1);
  return defaultPool;
}

/** Stops the shared pool (cancels a running search); a later call starts it again. For shutdown. */
export async function closeLocalPow(): Promise<void> {
  const previous = defaultPool;
  defaultPool = null;
  await previous?.close();
}

/**
 * composeAPI's `attachToTangle` option doing the proof of work on this machine, off the main thread, in the pool
 * `pool()` returns: for clients whose node does not offer attachToTangle.
 */
export function attachToTangleWith(pool: () => PowPool): AttachToTangle {
  const attach = (
    trunkTransaction: string,
    branchTransaction: string,
    minWeightMagnitude: number,
    trytes: readonly string[],
    callback?: (err: Error | null, result?: readonly string[]) => void,
  ): Promise<readonly string[]> => {
    const result = attachTrytes(trunkTransaction, branchTransaction, minWeightMagnitude, trytes, { pool: pool() });
    if (callback) result.then((r) => callback(null, r), (err: Error) => callback(err));
    return result;
  };
  // The typings want a Bluebird promise; @iota/core only chains on the result, so a native promise does.
  return attach as unknown as AttachToTangle;
}

/** Drop-in with a shared one-worker pool: `composeAPI({ provider, attachToTangle: localAttachToTangle })`. */
export const localAttachToTangle = attachToTangleWith(sharedPool);
