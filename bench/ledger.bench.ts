import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeAPI, generateAddress } from '@iota/core';
import { DevTangle, startTangleServer } from '../nodes/core/ledger';
import { attachTrytes, PowPool } from '../nodes/core/pow';
import { POW_MWM, POW_TXS, searchNonces } from './pow-rate';
import { report, time, Timing } from './timing';

const BUNDLES = 4;

/** PoW at MWM 9 on 1 worker (baseline) and on 2 workers, then attach + store + confirm of a value bundle. */
export async function run(): Promise<void> {
  console.log(`proof of work, MWM ${POW_MWM}, ${POW_TXS} transactions each (expected 3^${POW_MWM} = ${3 ** POW_MWM} candidates per tx)`);
  const powRows: Timing[] = [];
  for (const workers of [1, 2]) {
    const { timing, noncesPerSecond } = await searchNonces(workers);
    powRows.push(timing);
    console.log(`  ${workers} worker(s): ${Math.round(noncesPerSecond).toLocaleString('en')} nonces/s`);
  }
  report(powRows, powRows[0]);

  const seed = 'BENCH'.padEnd(81, '9');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-ledger-bench-'));
  const tangle = await DevTangle.open({ dataDir: dir, dev: true, minWeightMagnitude: POW_MWM, genesis: [{ seed, count: BUNDLES * 2, value: 1000 }] });
  const server = await startTangleServer(tangle, { port: 0, logLevel: 'silent' });
  const api = composeAPI({ provider: server.url });
  const pool = new PowPool(1);
  try {
    const bundle = async (i: number): Promise<readonly string[]> =>
      api.prepareTransfers(seed, [{ address: generateAddress(seed, 100 + i, 2), value: 400 }], {
        inputs: [{ address: generateAddress(seed, i, 2), keyIndex: i, security: 2, balance: 1000 }],
        remainderAddress: generateAddress(seed, 200 + i, 2),
      });
    // Signing (and deriving addresses) is the client's cost; it stays out of the measurements.
    const signed = await Promise.all(Array.from({ length: BUNDLES * 2 }, (_, i) => bundle(i)));
    console.log(`\nvalue bundle (4 txs: output, 2 signed inputs, remainder), MWM ${POW_MWM}, over HTTP, data on disk`);
    const sendRow = await time('sendTrytes: tips + remote PoW + store + confirm', BUNDLES, async (i) => {
      await api.sendTrytes(signed[i], 3, POW_MWM);
    });
    const attached: string[][] = [];
    for (let i = 0; i < BUNDLES; i++) {
      const { trunkTransaction, branchTransaction } = tangle.transactionsToApprove();
      attached.push(await attachTrytes(trunkTransaction, branchTransaction, POW_MWM, signed[BUNDLES + i], { pool }));
    }
    const storeRow = await time('storeTransactions only: validate + fsync + confirm', BUNDLES, async (i) => {
      await api.storeTransactions(attached[i]);
    });
    report([sendRow, storeRow], sendRow);
  } finally {
    await pool.close();
    await server.close();
    await tangle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
