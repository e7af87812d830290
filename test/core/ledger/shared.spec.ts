import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { generateAddress } from '@iota/core';
import { DevTangle, leaseTangle } from '../../../nodes/core/ledger';
import { seed, tempDir } from './support';

describe('ledger: one ledger per data directory in a process', function () {
  it('hands the same ledger to every lease of a path and closes it with the last release', async () => {
    const dir = tempDir();
    const address = generateAddress(seed('LEASE'), 0, 2);
    try {
      const first = await leaseTangle({ dataDir: dir, dev: true });
      const second = await leaseTangle({ dataDir: path.join(dir, '.') });
      assert.equal(second.tangle, first.tangle);
      await first.release();
      await second.tangle.faucet(address, 7);
      await second.release();
      await assert.rejects(second.tangle.faucet(address, 1), /the ledger is closed/);
      const reopened = await DevTangle.open({ dataDir: dir });
      assert.deepEqual(reopened.balances([address]).balances, [7]);
      await reopened.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
