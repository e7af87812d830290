import { trits } from '@iota/converter';
import { PowPool } from '../nodes/core/pow';
import { msSince, time, type Timing } from './timing';

export const POW_MWM = 9;
export const POW_TXS = 20;

/** A different transaction for each i: the search starts from the transaction's own trits. */
function transaction(i: number): Int8Array {
  return trits(`BENCH${i}`.replace(/\d/g, (d) => 'ABCDEFGHIJ'[Number(d)]).padEnd(2673, '9'));
}

/** Searches nonces for `count` transactions at MWM 9 on a pool of `workers`: time per transaction and nonces/s. */
export async function searchNonces(workers: number, count = POW_TXS): Promise<{ timing: Timing; noncesPerSecond: number }> {
  const pool = new PowPool(workers);
  try {
    await pool.search(trits('9'.repeat(2673)), 1); // start the workers outside the measurement
    let tried = 0;
    let searchMs = 0;
    const timing = await time(`PoW per tx, ${workers} worker${workers > 1 ? 's' : ''}`, count, async (i) => {
      const start = process.hrtime.bigint();
      tried += (await pool.search(transaction(i), POW_MWM)).tried;
      searchMs += msSince(start);
    });
    return { timing, noncesPerSecond: tried / (searchMs / 1000) };
  } finally {
    await pool.close();
  }
}

/** The headline proof-of-work figure: nonces per second on one worker. */
export async function noncesPerSecond(): Promise<number> {
  return (await searchNonces(1)).noncesPerSecond;
}
