import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { composeAPI, generateAddress } from '@iota/core';
import { trits, trytes } from '@iota/converter';
import { createBundle } from '@iota/multisig';
import { isTransaction } from '@iota/transaction';
import { asTransactionObject } from '@iota/transaction-converter';
import { DevTangle, startTangleServer, TangleServer } from '../../../nodes/core/ledger';
import { attachTrytes, closeLocalPow, localAttachToTangle, PowPool } from '../../../nodes/core/pow';
import { NULL_HASH } from '../../../nodes/core/ledger/validate';
import { cosign, headFirstTrytes, multisigAddress, Signer } from './multisig';
import { MWM, post, seed, tempDir } from './support';

/** @iota/core returns Bluebird promises; node:assert wants native ones. */
const native = <T>(promise: PromiseLike<T>): Promise<T> => Promise.resolve(promise);

const ALICE = seed('ALICE');
const PARTY_A: Signer = { seed: seed('PARTYA'), index: 0, security: 2 };
const PARTY_B: Signer = { seed: seed('PARTYB'), index: 0, security: 2 };

describe('ledger: validating development Tangle over HTTP (composeAPI)', function () {
  const alice0 = generateAddress(ALICE, 0, 2);
  const alice1 = generateAddress(ALICE, 1, 2);
  const root = multisigAddress([PARTY_A, PARTY_B]);
  const settle = generateAddress(seed('SETTLE'), 0, 2);
  const remainder = generateAddress(seed('REMAINDER'), 0, 2);
  let dir: string;
  let tangle: DevTangle;
  let server: TangleServer;
  let api: ReturnType<typeof composeAPI>;

  /** A 2-of-2 state spending the whole deposit of the multisig root: `paid` to SETTLE, the rest to REMAINDER. */
  const state = (paid: number, rule: 'shifted' | 'naive' = 'shifted'): string[] =>
    headFirstTrytes(cosign(createBundle({ address: root, balance: 700, securitySum: 4 }, [{ address: settle, value: paid }], remainder), 1, [PARTY_A, PARTY_B], rule));

  const balancesOf = async (addresses: string[]): Promise<number[]> => [...(await api.getBalances(addresses)).balances];

  before(async () => {
    dir = tempDir();
    tangle = await DevTangle.open({ dataDir: dir, dev: true, minWeightMagnitude: MWM, genesis: [{ seed: ALICE, count: 1, value: 1000 }] });
    server = await startTangleServer(tangle, { port: 0, logLevel: 'silent' });
    api = composeAPI({ provider: server.url });
  });

  after(async () => {
    await server?.close();
    await tangle?.close();
    await closeLocalPow();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('funds the genesis seed address and says it is a development ledger', async () => {
    const info = await api.getNodeInfo();
    assert.match(info.appName, /DEVELOPMENT/);
    assert.deepEqual(await balancesOf([alice0, alice1]), [1000, 0]);
  });

  it('accepts a deposit to the 2-of-2 address, attached with local PoW, with exact balances', async () => {
    const client = composeAPI({ provider: server.url, attachToTangle: localAttachToTangle });
    const trytes = await client.prepareTransfers(ALICE, [{ address: root, value: 700 }], {
      inputs: [{ address: alice0, keyIndex: 0, security: 2, balance: 1000 }],
      remainderAddress: alice1,
    });
    const txs = await client.sendTrytes(trytes, 3, MWM);
    assert.deepEqual(await balancesOf([alice0, alice1, root]), [0, 300, 700]);
    assert.deepEqual(await api.wereAddressesSpentFrom([alice0, alice1]), [true, false]);
    const tail = txs.find((tx) => tx.currentIndex === 0);
    assert.ok(tail);
    assert.deepEqual(await api.getInclusionStates([tail.hash]), [true]);
    assert.equal((await api.getBundle(tail.hash)).length, txs.length);
    assert.deepEqual(await api.findTransactions({ addresses: [root] }), [txs.find((tx) => tx.address === root)?.hash]);
  });

  it('refuses a co-signed bundle whose second signer used the first fragments again (bad signature)', async () => {
    await assert.rejects(native(api.sendTrytes(state(250, 'naive'), 3, MWM)), /Request error: Invalid bundle \w+: invalid signature/);
    assert.deepEqual(await balancesOf([root, settle]), [700, 0]);
  });

  it('accepts the co-signed 2-of-2 spend and moves the exact amounts', async () => {
    const txs = await api.sendTrytes(state(250), 3, MWM);
    assert.equal(txs.length, 6);
    assert.deepEqual(await balancesOf([root, settle, remainder]), [0, 250, 450]);
    assert.deepEqual(await api.wereAddressesSpentFrom([root]), [true]);
    assert.equal(await api.checkConsistency(txs.filter((tx) => tx.currentIndex === 0).map((tx) => tx.hash)), true);
  });

  it('refuses an older state of the channel attached after the newer one (double spend of the multisig)', async () => {
    await assert.rejects(native(api.sendTrytes(state(100), 3, MWM)), (err: Error) => {
      assert.match(err.message, new RegExp(`insufficient balance on ${root}.*double spend`));
      return true;
    });
    assert.deepEqual(await balancesOf([root, settle, remainder]), [0, 250, 450]);
  });

  it('refuses a batch holding two spends of the same funds, all or nothing, and accepts one of them alone', async () => {
    const spendAll = (to: string): Promise<readonly string[]> =>
      native(api.prepareTransfers(ALICE, [{ address: to, value: 300 }], { inputs: [{ address: alice1, keyIndex: 1, security: 2, balance: 300 }] }));
    const pool = new PowPool(1);
    try {
      const { trunkTransaction, branchTransaction } = await api.getTransactionsToApprove(3);
      const first = await attachTrytes(trunkTransaction, branchTransaction, MWM, await spendAll(settle), { pool });
      const firstTail = asTransactionObject(first[0]).hash;
      // The second spend approves the first one's tail: the node must order them within the batch.
      const second = await attachTrytes(firstTail, firstTail, MWM, await spendAll(remainder), { pool });
      await assert.rejects(native(api.storeTransactions([...second, ...first])), new RegExp(`insufficient balance on ${alice1}`));
      assert.deepEqual(await api.getTrytes([firstTail]), ['9'.repeat(2673)], 'nothing of a refused batch is stored');
      await api.storeTransactions(first);
      assert.deepEqual(await balancesOf([alice1, settle, remainder]), [0, 550, 450]);
    } finally {
      await pool.close();
    }
  });

  it('refuses a transaction whose proof of work is below the minimum weight magnitude', async () => {
    const [unattached] = await api.prepareTransfers(ALICE, [{ address: settle, value: 0, message: 'WEAK' }]);
    const pool = new PowPool(1);
    try {
      let weak: string[];
      do weak = await attachTrytes('9'.repeat(81), '9'.repeat(81), 1, [unattached], { pool });
      while (isTransaction(trits(weak[0]), MWM));
      await assert.rejects(native(api.storeTransactions(weak)), /Request error: Invalid transaction hash \w+: proof of work below minimum weight magnitude 9/);
    } finally {
      await pool.close();
    }
  });

  it('refuses a value transaction to an address not ending in trit 0, and a timestamp hours ahead', async () => {
    const [output] = await api.prepareTransfers(ALICE, [{ address: settle, value: 0 }]);
    const pool = new PowPool(1);
    try {
      // Tryte J is the trits (1, 0, 1): an address ending in J is no Kerl address. Value 1 (tryte A at 2268).
      // attachTrytes refuses such a transaction, so the proof of work is done by hand.
      const [attached] = await attachTrytes('9'.repeat(81), '9'.repeat(81), MWM, [output], { pool });
      const bad = trits(`${attached.slice(0, 2267)}JA${attached.slice(2269)}`);
      bad.set((await pool.search(bad, MWM)).nonce, 8019 - 81);
      const valueTx = trytes(bad);
      // @iota/core refuses to send it at all, so it goes out as a raw request.
      const refused = await post(server.url, JSON.stringify({ command: 'storeTransactions', trytes: [valueTx] }));
      assert.equal(refused.status, 400);
      assert.match(String(refused.json.error), /^Invalid value transaction \w+: its address \w+ does not end in trit 0$/);
      const inThreeHours = () => Date.now() + 3 * 60 * 60 * 1000;
      const [future] = await attachTrytes('9'.repeat(81), '9'.repeat(81), MWM, [output], { pool, now: inThreeHours });
      await assert.rejects(native(api.storeTransactions([future])), /Request error: Invalid timestamp in transaction \w+/);
    } finally {
      await pool.close();
    }
  });

  it('answers bad requests with IRI-shaped errors', async () => {
    const unknown = await post(server.url, '{"command":"getMilestone"}');
    assert.deepEqual([unknown.status, unknown.json.error], [400, 'Command [getMilestone] is unknown']);
    const noVersion = await post(server.url, '{"command":"getNodeInfo"}', { 'Content-Type': 'application/json' });
    assert.deepEqual([noVersion.status, noVersion.json.error], [400, 'Invalid API Version']);
    const malformed = await post(server.url, '{"command":"getNodeInfo"');
    assert.equal(malformed.status, 400);
    assert.match(String(malformed.json.error), /^Invalid JSON syntax/);
    const noCommand = await post(server.url, '{}');
    assert.deepEqual([noCommand.status, noCommand.json.error], [400, 'COMMAND parameter has not been specified in the request.']);
    const badParams = await post(server.url, JSON.stringify({ command: 'getBalances', addresses: 'ABC' }));
    assert.deepEqual([badParams.status, badParams.json.error], [400, 'Invalid addresses: an array expected']);
    const weak = await post(server.url, JSON.stringify({ command: 'attachToTangle', trunkTransaction: '9'.repeat(81), branchTransaction: '9'.repeat(81), minWeightMagnitude: 3, trytes: [] }));
    assert.deepEqual([weak.status, weak.json.error], [400, "minWeightMagnitude 3 is below this node's minimum of 9"]);
    const tooLong = await post(server.url, JSON.stringify({ command: 'getTrytes', hashes: ['9'.repeat(81)], pad: 'X'.repeat(1_100_000) }));
    assert.deepEqual([tooLong.status, tooLong.json.error], [400, 'Request too long']);
  });

  it('offers a faucet in development mode', async () => {
    const { status, json } = await post(server.url, JSON.stringify({ command: 'faucet', address: settle, value: 5 }));
    assert.deepEqual([status, json.balance], [200, 555]);
    assert.deepEqual(await balancesOf([settle]), [555]);
  });

  it('keeps every balance, spend and transaction across a restart, and refuses a damaged file clearly', async () => {
    const before = await balancesOf([alice0, alice1, root, settle, remainder]);
    const hashes = await api.findTransactions({ addresses: [root] });
    await server.close();
    await tangle.close();
    tangle = await DevTangle.open({ dataDir: dir, minWeightMagnitude: MWM });
    server = await startTangleServer(tangle, { port: 0, logLevel: 'silent' });
    api = composeAPI({ provider: server.url });
    assert.deepEqual(await balancesOf([alice0, alice1, root, settle, remainder]), before);
    assert.deepEqual(await api.wereAddressesSpentFrom([root, settle]), [true, false]);
    assert.deepEqual([...(await api.findTransactions({ addresses: [root] }))].sort(), [...hashes].sort());
    assert.ok(tangle.development, 'a ledger created in development mode stays marked as such');

    const copy = tempDir();
    try {
      const log = fs.readFileSync(path.join(dir, 'ledger.log'));
      log[Math.floor(log.length / 2)] ^= 0x01;
      fs.writeFileSync(path.join(copy, 'ledger.log'), log);
      await assert.rejects(DevTangle.open({ dataDir: copy }), /ledger\.log is corrupt at byte \d+/);
      fs.writeFileSync(path.join(copy, 'ledger.log'), '{"some":"other program"}\n');
      await assert.rejects(DevTangle.open({ dataDir: copy }), /ledger\.log is not a data file of this package/);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('ledger: milestones and modes', function () {
  it('confirms on a milestone when an interval is set, and has no faucet outside development mode', async () => {
    const tangle = await DevTangle.open({ minWeightMagnitude: MWM, milestoneIntervalMs: 3_600_000 });
    const server = await startTangleServer(tangle, { port: 0, logLevel: 'silent' });
    try {
      const api = composeAPI({ provider: server.url });
      const faucet = await post(server.url, JSON.stringify({ command: 'faucet', address: generateAddress(ALICE, 0, 2), value: 5 }));
      assert.deepEqual([faucet.status, faucet.json.error], [400, 'faucet is disabled: this is not a development ledger']);
      assert.doesNotMatch((await api.getNodeInfo()).appName, /DEVELOPMENT/);

      const trytes = await api.prepareTransfers(ALICE, [{ address: generateAddress(ALICE, 3, 2), value: 0, message: 'HELLO' }]);
      const [tx] = await api.sendTrytes(trytes, 3, MWM);
      assert.deepEqual(await api.getInclusionStates([tx.hash]), [false]);
      assert.equal(await api.checkConsistency([tx.hash]), true);
      assert.equal(await tangle.confirmPending(), 1);
      assert.deepEqual(await api.getInclusionStates([tx.hash]), [true]);
      assert.equal((await api.getNodeInfo()).latestMilestoneIndex, 1);
    } finally {
      await server.close();
      await tangle.close();
    }
  });

  it('counts a reattached bundle once and never confirms it, finds both attachments by several keys, and keeps it all across a restart', async () => {
    const dir = tempDir();
    const pool = new PowPool(1);
    const [alice0, alice1, settle] = [generateAddress(ALICE, 0, 2), generateAddress(ALICE, 1, 2), generateAddress(seed('SETTLE'), 0, 2)];
    let tangle = await DevTangle.open({ dataDir: dir, dev: true, minWeightMagnitude: MWM, genesis: [{ seed: ALICE, count: 1, value: 1000 }] });
    try {
      // Index 0 pays SETTLE, 1 and 2 spend alice0 (security 2), 3 (the head) is the remainder to alice1.
      const signed = await composeAPI().prepareTransfers(ALICE, [{ address: settle, value: 100 }], {
        inputs: [{ address: alice0, keyIndex: 0, security: 2, balance: 1000 }],
        remainderAddress: alice1,
      });
      const firstTrytes = await attachTrytes(NULL_HASH, NULL_HASH, MWM, signed, { pool });
      await tangle.store(firstTrytes);
      const first = firstTrytes.map((t) => asTransactionObject(t));
      // The same bundle attached again, approving the first tail: a new tail, the same spend.
      const againTrytes = await attachTrytes(first[0].hash, first[0].hash, MWM, signed, { pool });
      await tangle.store(againTrytes);
      const again = againTrytes.map((t) => asTransactionObject(t));
      assert.deepEqual([first[0].address, first[3].address], [settle, alice1]);
      const check = (): void => {
        assert.deepEqual(tangle.balances([alice0, alice1, settle]).balances, [0, 900, 100]);
        assert.deepEqual(tangle.wereAddressesSpentFrom([alice0, alice1]), [true, false]);
        assert.deepEqual(tangle.inclusionStates([first[0].hash, again[0].hash]), [true, false]);
        assert.deepEqual(tangle.checkConsistency([again[0].hash]), { state: true, info: '' });
        assert.deepEqual(tangle.findTransactions({ bundles: [first[0].bundle] }), [...first, ...again].map((tx) => tx.hash));
        // Across fields, the hashes every field matched, in the order of the first field asked (addresses, bundles, tags, approvees).
        assert.deepEqual(tangle.findTransactions({ bundles: [first[0].bundle], addresses: [settle, alice1] }), [first[0], again[0], first[3], again[3]].map((tx) => tx.hash));
        // Every transaction of the reattachment approves the first tail as its branch (the head as both), and
        // index 2 approves the head as its trunk: each hash comes once.
        assert.deepEqual(tangle.findTransactions({ approvees: [first[0].hash, again[3].hash] }), again.map((tx) => tx.hash));
        assert.deepEqual(tangle.findTransactions({ approvees: [first[0].hash], addresses: [alice1] }), [again[3].hash]);
      };
      check();
      await tangle.close();
      tangle = await DevTangle.open({ dataDir: dir, minWeightMagnitude: MWM });
      check();
    } finally {
      await tangle.close();
      await pool.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
