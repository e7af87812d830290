import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { asciiToTrytes } from '@iota/converter';
import { composeAPI } from '@iota/core';
import { asTransactionObject } from '@iota/transaction-converter';
import { DevTangle } from '../../../nodes/core/ledger';
import { attachTrytes, PowPool } from '../../../nodes/core/pow';
import { AppendLog } from '../../../nodes/core/store';
import { tempDir } from './support';

const TRYTES = 2673;

const randomTrytes = (length: number): string => Array.from(crypto.randomBytes(length), (b) => '9ABCDEFGHIJKLMNOPQRSTUVWXYZ'[b % 27]).join('');

/**
 * Stores `count` transactions, each the second of a two-transaction bundle whose tail never comes (stored and
 * indexed, never validated: quick to make, no bundle hash to compute); returns their hashes.
 */
async function storeTransactions(tangle: DevTangle, pool: PowPool, count: number): Promise<string[]> {
  const one = '9'.repeat(27);
  const trytes = Array.from({ length: count }, () =>
    [randomTrytes(2187), randomTrytes(81), one, one, '9'.repeat(9), 'A99999999', 'A99999999', randomTrytes(81), '9'.repeat(162), one, one, one].join(''),
  );
  const { trunkTransaction, branchTransaction } = tangle.transactionsToApprove();
  const attached = await attachTrytes(trunkTransaction, branchTransaction, 1, trytes, { pool });
  await tangle.store(attached);
  return attached.map((t) => asTransactionObject(t).hash);
}

/** Stores a zero-value bundle of `size` transactions; returns their hashes, tail first. */
async function storeBundle(tangle: DevTangle, pool: PowPool, name: string, size: number): Promise<string[]> {
  const transfers = Array.from({ length: size }, (_, i) => ({ address: asciiToTrytes(`${name} ${i}`).padEnd(81, '9'), value: 0 }));
  const trytes = await composeAPI({}).prepareTransfers('SLOTS'.padEnd(81, '9'), transfers);
  const { trunkTransaction, branchTransaction } = tangle.transactionsToApprove();
  const attached = await attachTrytes(trunkTransaction, branchTransaction, 1, trytes, { pool });
  await tangle.store(attached);
  return attached.map((t) => asTransactionObject(t)).sort((a, b) => a.currentIndex - b.currentIndex).map((tx) => tx.hash);
}

function heapAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('ledger: transactions on disk, indexes in memory', function () {
  let pool: PowPool;
  before(() => {
    pool = new PowPool(1);
  });
  after(() => pool.close());

  it('keeps the trytes in its transactions file: memory grows by an index entry per transaction, not by its 2673 trytes', async function () {
    const dir = tempDir();
    const tangle = await DevTangle.open({ dataDir: dir, minWeightMagnitude: 1 });
    try {
      const batches = 3;
      const size = 100;
      // Warm up: the code that indexes and stores is compiled (and counted in the heap) before the measure.
      await storeTransactions(tangle, pool, 50);
      const before = heapAfterGc();
      for (let b = 0; b < batches; b++) await storeTransactions(tangle, pool, size);
      const perTransaction = (heapAfterGc() - before) / (batches * size);
      // Its hash, its slot, and its place in the indexes (a new address, bundle and approvee each, here): about 530
      // bytes measured alone, less than its trytes whatever ran before; with the trytes and the parsed transaction in
      // memory, about 5,100.
      assert.ok(perTransaction < TRYTES, `${perTransaction.toFixed(0)} bytes of heap per transaction`);
      assert.equal(fs.statSync(path.join(dir, 'transactions')).size, (batches * size + 50) * TRYTES);
    } finally {
      await tangle.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cuts off slots a crash left unnamed, and refuses damaged or missing ones with a clear error', async function () {
    const dir = tempDir();
    let tangle = await DevTangle.open({ dataDir: dir, minWeightMagnitude: 1 });
    const hashes = await storeBundle(tangle, pool, 'KEPT', 3);
    const trytes = tangle.getTrytes(hashes);
    await tangle.close();
    const slots = path.join(dir, 'transactions');
    const intact = fs.readFileSync(slots);
    const copy = tempDir();
    try {
      // Written before a crash, the record naming them never written: never acknowledged, so cut off.
      fs.appendFileSync(slots, 'X'.repeat(TRYTES + 100));
      tangle = await DevTangle.open({ dataDir: dir, minWeightMagnitude: 1 });
      assert.deepEqual(tangle.getTrytes(hashes), trytes);
      assert.deepEqual(tangle.inclusionStates(hashes), [true, true, true]);
      await tangle.close();
      assert.deepEqual(fs.readFileSync(slots), intact);

      fs.copyFileSync(path.join(dir, 'ledger.log'), path.join(copy, 'ledger.log'));
      const damaged = Buffer.from(intact);
      damaged[TRYTES + 5] = damaged[TRYTES + 5] === 0x41 ? 0x42 : 0x41;
      fs.writeFileSync(path.join(copy, 'transactions'), damaged);
      await assert.rejects(DevTangle.open({ dataDir: copy }), /transactions in slots 0\.\.2 are damaged or missing/);
      fs.writeFileSync(path.join(copy, 'transactions'), intact.subarray(0, 2 * TRYTES));
      await assert.rejects(DevTangle.open({ dataDir: copy }), /transactions is shorter than its ledger says/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  it('carries a version-1 ledger (the trytes in its log) over, with every balance, transaction and confirmation', async function () {
    const source = await DevTangle.open({ minWeightMagnitude: 1 });
    const hashes = await storeBundle(source, pool, 'OLD', 2);
    const trytes = source.getTrytes(hashes);
    const tail = hashes[0];
    await source.close();
    const dir = tempDir();
    try {
      const log = path.join(dir, 'ledger.log');
      const address = asciiToTrytes('GENESIS').padEnd(80, '9') + '9';
      const legacy = await AppendLog.create(log, { kind: 'm2m-tangle-ledger', version: 1 }, [
        { type: 'genesis', createdAt: Date.now() - 60_000, dev: true },
        { type: 'mint', address, value: 500, reason: 'genesis' },
        { type: 'txs', txs: hashes.map((hash, i) => ({ hash, trytes: trytes[i] })), accepted: [tail], reattached: [] },
        { type: 'milestone', index: 1, time: Date.now(), tails: [tail] },
      ]);
      await legacy.close();
      let tangle = await DevTangle.open({ dataDir: dir });
      const check = (): void => {
        assert.deepEqual(tangle.balances([address]).balances, [500]);
        assert.deepEqual(tangle.getTrytes(hashes), trytes);
        assert.deepEqual(tangle.inclusionStates(hashes), [true, true]);
        assert.equal(tangle.nodeInfo().latestMilestoneIndex, 1);
      };
      check();
      await tangle.close();
      const { records, version, log: reopened } = await AppendLog.open<{ type: string }>(log, { kind: 'm2m-tangle-ledger', version: 2 });
      await reopened.close();
      assert.equal(version, 2);
      assert.ok(!fs.readFileSync(log, 'latin1').includes(trytes[0]), 'the trytes left the log');
      assert.deepEqual(records.map((r) => r.type), ['genesis', 'mint', 'txs', 'milestone']);
      tangle = await DevTangle.open({ dataDir: dir });
      check();
      await tangle.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
