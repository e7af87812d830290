import assert from 'node:assert/strict';
import isBundle from '@iota/bundle-validator';
import { asTransactionObject } from '@iota/transaction-converter';
import { address } from '../../../nodes/core/iota/wots';
import { generateSeed } from '../../../nodes/core/wallet';
import { bundlePreparer } from '../../../nodes/core/wallet/prepare';

describe('wallet: bundles prepared on a worker thread', () => {
  it('builds a bundle that @iota/bundle-validator accepts: the transfer, the change, the signed input', async () => {
    const seed = generateSeed();
    const [input, change, target] = [address(seed, 0, 2), address(seed, 1, 2), address(generateSeed(), 0, 2)];
    const trytes = await bundlePreparer.run({
      seed,
      transfers: [{ address: target, value: 30 }],
      inputs: [{ address: input, keyIndex: 0, security: 2, balance: 100 }],
      remainderAddress: change,
    });
    const txs = trytes.map((t) => asTransactionObject(t)).sort((a, b) => a.currentIndex - b.currentIndex);
    assert.equal(isBundle(txs), true);
    const valueTo = (a: string) => txs.filter((tx) => tx.address === a).reduce((sum, tx) => sum + tx.value, 0);
    assert.deepEqual([valueTo(target), valueTo(change), valueTo(input)], [30, 70, -100]);
  });

  it("passes the library's refusal back as an error that names the problem and not the seed", async () => {
    const seed = generateSeed();
    const request = { seed, transfers: [{ address: address(seed, 1, 2), value: 30 }], inputs: [{ address: address(seed, 0, 2), keyIndex: 0, security: 2, balance: 10 }] };
    await assert.rejects(bundlePreparer.run(request), (err: Error) => /insufficient|balance/i.test(err.message) && !err.message.includes(seed));
  });
});
