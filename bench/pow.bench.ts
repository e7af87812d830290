import { trits } from '@iota/converter';
import { PowPool, type PowBackend, powBackend } from '../nodes/core/pow';
import type { Figures } from './index';
import { report, time, type Timing } from './timing';

const SAMPLES = 30;
/** High enough that the per-transaction mid state and the messages to the workers are a small part of the time. */
const MWM = 10;

export interface PowMeasurement {
  backend: PowBackend;
  noncesPerSecond: number;
  /** Time per transaction. */
  timing: Timing;
}

/** Nonce searches on `samples` different transactions; nonces/s = candidates tried / time searching. */
export async function measurePow(options: { workers: number; backend?: PowBackend; mwm?: number; samples?: number }): Promise<PowMeasurement> {
  const { workers, mwm = MWM, samples = SAMPLES } = options;
  const pool = new PowPool(workers, options.backend);
  try {
    const { backend } = await pool.search(trits('9'.repeat(2673)), 1); // start the workers outside the measurement
    let tried = 0;
    let searchMs = 0;
    const label = `PoW per tx, MWM ${mwm}, ${backend}, ${workers} worker${workers > 1 ? 's' : ''}`;
    const timing = await time(label, samples, async (i) => {
      const tx = trits(`POWBENCH${i}`.replace(/\d/g, (d) => 'ABCDEFGHIJ'[Number(d)]).padEnd(2673, '9'));
      const start = process.hrtime.bigint();
      tried += (await pool.search(tx, mwm)).tried;
      searchMs += Number(process.hrtime.bigint() - start) / 1e6;
    });
    return { backend, noncesPerSecond: Math.round(tried / (searchMs / 1000)), timing };
  } finally {
    await pool.close();
  }
}

const perSecond = (n: number): string => `${n.toLocaleString('en')} nonces/s`;

/** The JavaScript 32-lane transform (the baseline) against the fastest backend, on 1 and 2 workers. */
export async function run(): Promise<Figures> {
  console.log(`nonce search, MWM ${MWM}, ${SAMPLES} transactions per row, nonces/s of all workers together; fastest backend here: ${powBackend()}`);
  const rows: Timing[] = [];
  let fastestOnOne = 0;
  for (const workers of [1, 2]) {
    const baseline = await measurePow({ workers, backend: 'js' });
    const fastest = await measurePow({ workers });
    rows.push(baseline.timing, fastest.timing);
    if (workers === 1) fastestOnOne = fastest.noncesPerSecond;
    console.log(
      `  ${workers} worker(s): js ${perSecond(baseline.noncesPerSecond)}, ${fastest.backend} ${perSecond(fastest.noncesPerSecond)}` +
        ` (${(fastest.noncesPerSecond / baseline.noncesPerSecond).toFixed(1)}x)`,
    );
  }
  report(rows, rows[0]);
  return { pow_nonces_per_s: fastestOnOne };
}
