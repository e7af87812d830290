import { bundleHashOf } from '../iota/bundle-validator';
import { asTransactionObject } from '@iota/transaction-converter';
import type { Transaction } from '@iota/core';
import { RequestError } from './errors';
import type { BundleVerifier } from './verifier';
import { transactionHashTrits } from '../pow/search';
import { toTrits, toTrytes } from '../iota/trytes';

/** The legacy IOTA supply, (3^33 - 1) / 2: no value, balance or sum of mints may exceed it. */
export const SUPPLY = (3 ** 33 - 1) / 2;
export const NULL_HASH = '9'.repeat(81);
export const TRANSACTION_TRYTES = 2673;
/** IRI refuses attachment timestamps more than two hours ahead of its clock. */
const MAX_FUTURE_MS = 2 * 60 * 60 * 1000;
const TRYTES = /^[9A-Z]*$/;

export function isHash(value: unknown): value is string {
  return typeof value === 'string' && value.length === 81 && TRYTES.test(value);
}

export function isTrytes(value: unknown, length: number): value is string {
  return typeof value === 'string' && value.length === length && TRYTES.test(value);
}

/** A value transaction's address must come from Kerl, whose last trit is always 0. */
export function hasValueAddress(address: string): boolean {
  return toTrits(address)[242] === 0;
}

export interface TimeWindow {
  /** The ledger's start (like IRI's snapshot time), ms: nothing attached before it is valid. */
  notBeforeMs: number;
  nowMs: number;
}

/**
 * The checks IRI's TransactionValidator makes on one transaction: shape, proof of work (the last `mwm` trits of
 * the hash are 0), value range, the address of a value transaction, timestamps, index sanity. `hash` is the
 * transaction's Curl-P-81 hash (`hashOf`). Returns the parsed transaction.
 */
export function checkTransaction(trytes: string, hash: string, minWeightMagnitude: number, time: TimeWindow): Transaction {
  let tx: Transaction;
  try {
    tx = asTransactionObject(trytes, hash);
  } catch {
    // asTransactionObject refuses values that use more than the 33 allowed trits.
    throw new RequestError(`Invalid transaction value in ${hash}: it uses more than 33 trits`);
  }
  if (!toTrits(hash).subarray(243 - minWeightMagnitude).every((trit) => trit === 0)) {
    throw new RequestError(`Invalid transaction hash ${hash}: proof of work below minimum weight magnitude ${minWeightMagnitude}`);
  }
  if (tx.value !== 0 && !hasValueAddress(tx.address)) {
    throw new RequestError(`Invalid value transaction ${hash}: its address ${tx.address} does not end in trit 0`);
  }
  if (Math.abs(tx.value) > SUPPLY) throw new RequestError(`Invalid transaction value ${tx.value}: beyond the supply`);
  const attachedAt = tx.attachmentTimestamp === 0 ? tx.timestamp * 1000 : tx.attachmentTimestamp;
  if (attachedAt < time.notBeforeMs || attachedAt > time.nowMs + MAX_FUTURE_MS) {
    throw new RequestError(`Invalid timestamp in transaction ${hash}: outside the ledger's window (clock wrong?)`);
  }
  if (tx.currentIndex > tx.lastIndex) throw new RequestError(`Invalid transaction ${hash}: currentIndex above lastIndex`);
  return tx;
}

/** The transaction hash: Curl-P-81 over the 8019 trits. */
export function hashOf(trytes: string): string {
  return toTrytes(transactionHashTrits(toTrits(trytes)));
}

/** A stored transaction: its raw trytes and the parsed object (with hash). */
export interface StoredTransaction {
  trytes: string;
  tx: Transaction;
}

/**
 * The bundle rules of IRI's BundleValidator plus the tangle links: `bundle` is walked from its tail along trunks.
 * Indices run 0..lastIndex, values sum to 0, the bundle hash is the Kerl hash of the essences, every signature
 * verifies (the default export of @iota/bundle-validator on a worker thread, which also re-checks the
 * above), and every non-head
 * transaction's branch is the head's trunk.
 */
export async function checkBundle(bundle: readonly StoredTransaction[], verifier: BundleVerifier): Promise<void> {
  const txs = bundle.map((b) => b.tx);
  const head = txs[txs.length - 1];
  const name = txs[0].bundle;
  txs.forEach((tx, i) => {
    if (tx.currentIndex !== i || tx.lastIndex !== txs.length - 1) throw new RequestError(`Invalid bundle ${name}: index ${i} out of sequence`);
    if (tx.bundle !== name) throw new RequestError(`Invalid bundle ${name}: a transaction's trunk leaves the bundle`);
    if (tx !== head && tx.branchTransaction !== head.trunkTransaction) {
      throw new RequestError(`Invalid bundle ${name}: transaction ${i} does not approve the head's trunk as its branch`);
    }
  });
  const sum = txs.reduce((acc, tx) => acc + tx.value, 0);
  if (sum !== 0) throw new RequestError(`Invalid bundle ${name}: values sum to ${sum}, not 0`);
  if (bundleHashOf(bundle.map((tx) => tx.trytes)) !== name) throw new RequestError(`Invalid bundle ${name}: the bundle hash does not match its transactions`);
  if (!(await verifier.isBundle(txs))) throw new RequestError(`Invalid bundle ${name}: invalid signature`);
}
