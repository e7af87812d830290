/**
 * Proof-of-work nonce search for legacy IOTA transactions: bit-sliced Curl-P-81 (see lanes.ts), many nonce
 * candidates ("lanes") per transform: 128 with WebAssembly SIMD (curl-wasm.ts), else 32 in plain JavaScript
 * (curl-js.ts). `powBackend()` says which one runs.
 *
 * The transaction's first 7776 trits (32 blocks of 243) do not depend on the nonce, so they are absorbed once
 * (the "mid state"). Every candidate then only needs the last block, whose final 81 trits are the nonce:
 * - nonce trits 0..4 differ per lane (the lane number in base 3; 3^5 = 243 covers 128 lanes),
 * - nonce trits 5..8 hold the partition number, so several workers search disjoint spaces,
 * - nonce trits 9..80 are a counter shared by all lanes.
 * A candidate is good when the last `mwm` trits of its hash (state trits 0..242) are all 0.
 */
import { JsLaneCurl } from './curl-js';
import { compiledCurlWasm, WasmLaneCurl } from './curl-wasm';
import { HASH_LENGTH, type LaneCurl, type PowBackend, laneTrit, setLaneTrit, setTrit } from './lanes';

export type { PowBackend } from './lanes';

const TRANSACTION_LENGTH = 8019;
const NONCE_LENGTH = 81;
const LAST_BLOCK_OFFSET = TRANSACTION_LENGTH - HASH_LENGTH;
const NONCE_IN_BLOCK = HASH_LENGTH - NONCE_LENGTH;
const LANE_TRITS = 5;
const PARTITION_TRITS = 4;
const COUNTER_FROM = LANE_TRITS + PARTITION_TRITS;
export const MAX_PARTITIONS = 3 ** PARTITION_TRITS;

/** The fastest backend this engine runs: 'wasm-simd' where WebAssembly SIMD validates, else 'js'. */
export function powBackend(): PowBackend {
  return compiledCurlWasm() ? 'wasm-simd' : 'js';
}

/** One transform per thread and backend, made on first use (searches in a thread run one at a time). */
const curls = new Map<PowBackend, LaneCurl>();

function laneCurl(backend: PowBackend): LaneCurl {
  let curl = curls.get(backend);
  if (!curl) {
    const module = backend === 'wasm-simd' ? compiledCurlWasm() : null;
    if (backend === 'wasm-simd' && !module) throw new Error('WebAssembly SIMD is not available here');
    curl = module ? new WasmLaneCurl(module) : new JsLaneCurl();
    curls.set(backend, curl);
  }
  return curl;
}

export interface SearchJob {
  /** The transaction trits (8019) with every field but the nonce final. */
  trits: Int8Array;
  minWeightMagnitude: number;
  partition: number;
  /** Polled before each transform; true stops the search. */
  shouldStop: () => boolean;
  /** Defaults to powBackend(). */
  backend?: PowBackend;
}

export interface SearchResult {
  /** The 81 nonce trits, or null when stopped. */
  nonce: Int8Array | null;
  /** Number of nonce candidates tried. */
  tried: number;
  backend: PowBackend;
}

export function searchNonce(job: SearchJob): SearchResult {
  const { trits, minWeightMagnitude: mwm, partition } = job;
  if (trits.length !== TRANSACTION_LENGTH) throw new RangeError('a transaction has 8019 trits');
  if (!Number.isInteger(mwm) || mwm < 1 || mwm > HASH_LENGTH) throw new RangeError('minWeightMagnitude must be 1..243');
  if (!Number.isInteger(partition) || partition < 0 || partition >= MAX_PARTITIONS) throw new RangeError('bad partition');

  const curl = laneCurl(job.backend ?? powBackend());
  const { state } = curl;
  absorb(curl, trits, LAST_BLOCK_OFFSET);
  for (let i = 0; i < NONCE_IN_BLOCK; i++) setTrit(state, i, trits[LAST_BLOCK_OFFSET + i]);
  for (let t = 0; t < LANE_TRITS; t++) {
    for (let lane = 0; lane < curl.lanes; lane++) setLaneTrit(state, NONCE_IN_BLOCK + t, lane, tritOf(lane, t));
  }
  for (let t = 0; t < PARTITION_TRITS; t++) setTrit(state, NONCE_IN_BLOCK + LANE_TRITS + t, tritOf(partition, t));
  const counter = new Int8Array(NONCE_LENGTH - COUNTER_FROM).fill(-1);
  for (let t = 0; t < counter.length; t++) setTrit(state, NONCE_IN_BLOCK + COUNTER_FROM + t, -1);

  for (let transforms = 0; ; transforms++) {
    // A transform takes tens of microseconds, so polling before each one costs nothing and stops promptly.
    if (job.shouldStop()) return { nonce: null, tried: transforms * curl.lanes, backend: curl.backend };
    curl.transform();
    const lane = curl.firstZeroLane(mwm);
    if (lane >= 0) {
      const nonce = Int8Array.from({ length: NONCE_LENGTH }, (_, t) => laneTrit(state, NONCE_IN_BLOCK + t, lane));
      return { nonce, tried: (transforms + 1) * curl.lanes, backend: curl.backend };
    }
    incrementCounter(curl, counter);
  }
}

/** A fresh sponge (every trit 0) that absorbs `trits` up to `end`, in every lane alike. */
function absorb(curl: LaneCurl, trits: Int8Array, end: number): void {
  const { state, result } = curl;
  state.low.fill(-1);
  state.high.fill(-1);
  for (let offset = 0; offset < end; offset += HASH_LENGTH) {
    for (let i = 0; i < HASH_LENGTH; i++) setTrit(state, i, trits[offset + i]);
    curl.transform();
    state.low.set(result.low);
    state.high.set(result.high);
  }
}

/**
 * A transaction's hash (Curl-P-81 over its 8019 trits), as `@iota/transaction` `transactionHash` computes it, on
 * the proof of work's transform: 3 to 4 times faster than the library's (docs/LEDGER.md has the figures).
 */
export function transactionHashTrits(trits: Int8Array, backend: PowBackend = powBackend()): Int8Array {
  if (trits.length !== TRANSACTION_LENGTH) throw new RangeError('a transaction has 8019 trits');
  const curl = laneCurl(backend);
  absorb(curl, trits, TRANSACTION_LENGTH);
  return Int8Array.from({ length: HASH_LENGTH }, (_, i) => laneTrit(curl.state, i, 0));
}

/** Base-3 digit t of n, shifted from 0..2 to a trit -1..1. */
function tritOf(n: number, t: number): number {
  return (Math.floor(n / 3 ** t) % 3) - 1;
}

function incrementCounter(curl: LaneCurl, counter: Int8Array): void {
  for (let t = 0; t < counter.length; t++) {
    const next = counter[t] === 1 ? -1 : counter[t] + 1;
    counter[t] = next;
    setTrit(curl.state, NONCE_IN_BLOCK + COUNTER_FROM + t, next);
    if (next !== -1) return;
  }
}
