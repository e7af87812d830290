import assert from 'node:assert/strict';
import { composeAPI } from '@iota/core';
import { trits } from '@iota/converter';
import { isTransaction } from '@iota/transaction';
import { asTransactionObject } from '@iota/transaction-converter';
import { attachTrytes, PowCancelledError, PowPool } from '../../../nodes/core/pow';

const TRUNK = 'TRUNK'.padEnd(81, '9');
const BRANCH = 'BRANCH'.padEnd(81, '9');

describe('pow: bit-sliced Curl-P-81 on worker threads', function () {
  it('attaches a bundle like IRI: chained trunks, head on (trunk, branch), tag from obsolete tag, valid PoW', async () => {
    const unattached = await composeAPI({}).prepareTransfers('POW'.padEnd(81, '9'), [
      { address: 'A'.repeat(81), value: 0, message: 'FIRST' },
      { address: 'B'.repeat(81), value: 0, obsoleteTag: 'OLDTAG' } as never,
    ]);
    const pool = new PowPool(2);
    try {
      const before = Date.now();
      const attached = await attachTrytes(TRUNK, BRANCH, 9, unattached, { pool });
      const [tail, head] = attached.map((t) => asTransactionObject(t));
      assert.deepEqual([tail.currentIndex, head.currentIndex], [0, 1], 'tail first');
      for (const t of attached) assert.ok(isTransaction(trits(t), 9));
      assert.deepEqual([head.trunkTransaction, head.branchTransaction], [TRUNK, BRANCH]);
      assert.deepEqual([tail.trunkTransaction, tail.branchTransaction], [head.hash, TRUNK]);
      assert.equal(tail.tag, tail.obsoleteTag, 'an all-9 tag takes the obsolete tag');
      assert.ok(tail.attachmentTimestamp >= before && tail.attachmentTimestamp <= Date.now());
      assert.deepEqual([tail.attachmentTimestampLowerBound, tail.attachmentTimestampUpperBound], [0, (3 ** 27 - 1) / 2]);
    } finally {
      await pool.close();
    }
  });

  it('cancels a running search, then keeps working', async () => {
    const pool = new PowPool(1);
    const tx = trits('9'.repeat(2673));
    try {
      const controller = new AbortController();
      const hopeless = pool.search(tx, 60, controller.signal);
      setTimeout(() => controller.abort(), 200);
      await assert.rejects(hopeless, PowCancelledError);
      const { nonce } = await pool.search(tx, 5);
      const done = tx.slice();
      done.set(nonce, 8019 - 81);
      assert.ok(isTransaction(done, 5));
    } finally {
      await pool.close();
    }
  });
});
