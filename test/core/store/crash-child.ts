/**
 * Child process for the crash tests: writes as fast as it can and reports each write the moment it is
 * acknowledged (resolved after fsync), until the parent kills it with SIGKILL.
 *   node crash-child.js log <file>      appends records {seq} to an AppendLog
 *   node crash-child.js ledger <dir>    stores one-transaction bundles in a DevTangle (MWM 1), reports tail hashes
 *   node crash-child.js records <file>  records payments of ten sessions at once in a RecordStore, reports "session/seq"
 */
import { asciiToTrytes } from '@iota/converter';
import { composeAPI } from '@iota/core';
import { asTransactionObject } from '@iota/transaction-converter';
import { DevTangle } from '../../../nodes/core/ledger';
import { attachTrytes, PowPool } from '../../../nodes/core/pow';
import { RecordStore } from '../../../nodes/core/records';
import { AppendLog } from '../../../nodes/core/store';

async function logMode(file: string): Promise<void> {
  const { log } = await AppendLog.open<{ seq: number; pad: string }>(file, { kind: 'test-log', version: 1 });
  for (let seq = 0; ; seq++) {
    await log.append([{ seq, pad: 'x'.repeat(100 + ((seq * 7919) % 5000)) }]);
    process.send?.(seq);
  }
}

async function ledgerMode(dir: string): Promise<void> {
  const tangle = await DevTangle.open({ dataDir: dir, minWeightMagnitude: 1 });
  const pool = new PowPool(1);
  const api = composeAPI({});
  for (let i = 0; ; i++) {
    // A distinct address per bundle: two identical bundles would be one bundle reattached, confirmed once.
    const address = asciiToTrytes(`CRASH ${i}`).padEnd(81, '9');
    const trytes = await api.prepareTransfers('CRASH'.padEnd(81, '9'), [{ address, value: 0 }]);
    const { trunkTransaction, branchTransaction } = tangle.transactionsToApprove();
    const attached = await attachTrytes(trunkTransaction, branchTransaction, 1, trytes, { pool });
    await tangle.store(attached);
    const { hash } = asTransactionObject(attached[0]);
    if (!tangle.inclusionStates([hash])[0]) throw new Error(`stored ${hash} but it is not confirmed`);
    process.send?.(hash);
  }
}

async function recordsMode(file: string): Promise<void> {
  const store = await RecordStore.open(file);
  // Sessions of earlier runs on the same file are left alone: each run pays in sessions of its own.
  const run = process.pid;
  for (let seq = 1; ; seq++) {
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const sessionId = `run${run}-s${i}`;
        const event = { sessionId, seq, increments: seq, paidWh: seq * 10, deliveredWh: seq * 10, amount: 1, totalPaid: seq, balances: { vehicle: 1000 - seq, station: seq }, remainingPayments: 100 };
        await store.paid(event, { role: 'station' }, Date.now());
        process.send?.(`${sessionId}/${seq}`);
      }),
    );
  }
}

const modes: Record<string, (target: string) => Promise<void>> = { log: logMode, ledger: ledgerMode, records: recordsMode };
const [mode, target] = process.argv.slice(2);
modes[mode](target).catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
