import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { generateAddress } from '@iota/core';
import { tempDir } from '../../support/temp';
import { connectTangle, generateSeed, seedFingerprint, TangleConnection, Wallet, WalletStore, WalletStoreError } from '../../../nodes/core/wallet';

const CHILD = path.resolve(__dirname, '..', '..', 'support', 'wallet-child.js');

/** Every child started, killed after each test whatever its outcome. */
const children: ChildProcess[] = [];

/** Runs the wallet child process; resolves with its first line of output (and the process, still running or not). */
function child(dir: string, fingerprint: string, mode: 'hold' | 'allocate-and-die'): Promise<{ line: string; proc: ChildProcess; exited: Promise<NodeJS.Signals | null> }> {
  const proc = spawn(process.execPath, [CHILD, dir, fingerprint, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  return new Promise((resolve) => {
    let out = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve({ line: out.split('\n')[0], proc, exited });
    });
  });
}

describe('wallet: one key, one use, across wallet instances and processes', function () {
  afterEach(() => {
    for (const proc of children.splice(0)) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });

  it('two wallets on one seed (two nodes, or a redeployed node and its predecessor) share one counter and one address list', function () {
    const seed = generateSeed();
    const dataDir = tempDir();
    const tangle = {} as TangleConnection; // no Tangle needed to count
    const first = new Wallet({ seed, security: 1, dataDir, tangle });
    const second = new Wallet({ seed, security: 1, dataDir, tangle });
    const handedOut: number[] = [];
    for (let i = 0; i < 20; i++) handedOut.push(...(i % 2 ? first : second).allocateKeyIndices(1 + (i % 3)));
    assert.equal(new Set(handedOut).size, handedOut.length, `an index was handed out twice: ${handedOut.join(',')}`);
    // A third instance, opened now (a redeploy), counts on from there.
    const third = new Wallet({ seed, security: 1, dataDir, tangle });
    assert.ok(third.allocateKeyIndices(1)[0] > Math.max(...handedOut));
    // What is on disk is what all of them handed out, not the last writer's copy.
    const file = JSON.parse(fs.readFileSync(path.join(dataDir, `wallet-${seedFingerprint(seed)}.json`), 'utf8')) as { nextIndex: number };
    assert.equal(file.nextIndex, Math.max(...handedOut) + 2);
  });

  it('refuses a second process that would change the same wallet with a clear error while the first holds it', async function () {
    const dir = tempDir();
    WalletStore.open(dir, 'held-here').allocate(1);
    const { line, exited } = await child(dir, 'held-here', 'hold');
    assert.match(line, /^error: /, 'the second process must not open the wallet');
    await exited;
    assert.match(line, /^error: .*already in use by process \d+.*another Node-RED process uses the same wallet/);

    // And the other way round: a process that holds the wallet keeps this one out.
    const other = tempDir();
    const holder = await child(other, 'held-there', 'hold');
    assert.equal(holder.line, 'open');
    const store = WalletStore.open(other, 'held-there');
    assert.throws(() => store.allocate(1), (err: Error) => err instanceof WalletStoreError && /already in use by process/.test(err.message));
    holder.proc.kill('SIGKILL');
    await holder.exited;
    // Once that process is gone (killed, holding the lock), its lock is stale: this one takes it over, and reads
    // the file again first, so it counts on after the index the other process handed out.
    assert.deepEqual(store.allocate(1), [1]);
  });

  it('never hands out an index again that a process allocated before it was killed with SIGKILL', async function () {
    const dir = tempDir();
    const { line, exited } = await child(dir, 'killed', 'allocate-and-die');
    assert.equal(await exited, 'SIGKILL');
    const allocated = Number(line);
    assert.ok(Number.isInteger(allocated), line);
    const store = WalletStore.open(dir, 'killed');
    assert.ok(store.allocate(1)[0] > allocated, 'the index the dead process allocated (and may have used) stays used');
  });

  describe('with funds on the embedded Tangle', function () {
    let tangle: TangleConnection;
    before(async () => {
      tangle = await connectTangle({ mode: 'embedded', dataDir: tempDir(), host: '127.0.0.1', port: 0, url: '', minWeightMagnitude: 5, depth: 3, milestoneIntervalMs: 0, dev: true, localPow: false, powWorkers: 1 });
    });
    after(() => tangle.close());

    it('a redeploy during a payment: close waits for the send in flight, and the successor never signs with its inputs again', async function () {
      const seed = generateSeed();
      const dataDir = tempDir();
      const old = new Wallet({ seed, security: 1, dataDir, tangle });
      await old.topUpFromFaucet(100);
      const recipient = generateAddress(generateSeed(), 0, 1);
      let sent = false;
      const payment = old.send(recipient, 30).then(() => (sent = true));
      // The redeploy: the old node closes while its payment is under way, its successor starts after that.
      await old.close();
      assert.ok(sent, 'close resolved only after the payment in flight');
      await assert.rejects(old.send(recipient, 1), /closed/);
      const successor = new Wallet({ seed, security: 1, dataDir, tangle });
      // Meanwhile the old instance's channel step may still draw key indices: they never collide.
      const mixed = [...successor.allocateKeyIndices(2), ...old.allocateKeyIndices(2), ...successor.allocateKeyIndices(2)];
      assert.equal(new Set(mixed).size, 6);
      await successor.send(recipient, 30);
      await successor.send(recipient, 30);
      await payment;
      assert.equal(Number((await tangle.api.getBalances([recipient])).balances[0]), 90);
      // No address of the seed ever signed two bundles.
      for (const { address } of successor.addresses()) {
        const spends = (await tangle.api.getTransactionObjects(await tangle.api.findTransactions({ addresses: [address] }))).filter((tx) => tx.value < 0);
        assert.ok(new Set(spends.map((tx) => tx.bundle)).size <= 1, `${address.slice(0, 9)} signed ${spends.length} bundles`);
      }
    });
  });
});
