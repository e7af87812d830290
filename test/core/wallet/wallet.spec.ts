import assert from 'node:assert/strict';
import fs from 'node:fs';
import util from 'node:util';
import { generateAddress } from '@iota/core';
import {
  connectTangle,
  generateSeed,
  isValidSeed,
  seedFingerprint,
  TangleConnection,
  TangleSettings,
  Wallet,
  WalletError,
  WalletStore,
  WalletStoreError,
} from '../../../nodes/core/wallet';
import { RETIRED_KEPT } from '../../../nodes/core/wallet/wallet-store';
import { tempDir } from '../../support/temp';

const MWM = 7;

function settings(overrides: Partial<TangleSettings>): TangleSettings {
  return {
    mode: 'embedded',
    dataDir: tempDir(),
    host: '127.0.0.1',
    port: 0,
    url: '',
    minWeightMagnitude: MWM,
    depth: 3,
    milestoneIntervalMs: 0,
    dev: true,
    localPow: false,
    powWorkers: 1,
    ...overrides,
  };
}

describe('wallet: seeds and the persistent key counter', function () {
  it('generates valid, distinct seeds and names them without revealing them', function () {
    const a = generateSeed();
    const b = generateSeed();
    assert.ok(isValidSeed(a) && isValidSeed(b));
    assert.notEqual(a, b);
    assert.match(seedFingerprint(a), /^[0-9a-f]{16}$/);
    assert.ok(!seedFingerprint(a).includes(a.slice(0, 8)));
    assert.ok(!isValidSeed(a.toLowerCase()) && !isValidSeed(a.slice(1)));
  });

  it('never hands out a key index twice, across reopening', function () {
    const dir = tempDir();
    const first = WalletStore.open(dir, 'abc');
    assert.deepEqual(first.allocate(3), [0, 1, 2]);
    first.addAddress(1, 'A'.repeat(81));
    const reopened = WalletStore.open(dir, 'abc');
    assert.equal(reopened.nextIndex, 3);
    assert.deepEqual(reopened.allocate(2), [3, 4]);
    assert.deepEqual(reopened.addresses(), [{ index: 1, address: 'A'.repeat(81), spent: false }]);
    assert.equal(fs.statSync(first.file).mode & 0o777, 0o600);
    assert.throws(() => reopened.addAddress(9, 'B'.repeat(81)), /never allocated/);
  });

  it('refuses a damaged or foreign wallet file with a clear error', function () {
    const dir = tempDir();
    const file = WalletStore.open(dir, 'abc').file;
    fs.writeFileSync(file, '{"kind":"m2m-ev-wallet","version":1,"nextIndex":');
    assert.throws(() => WalletStore.open(dir, 'abc'), (err: Error) => err instanceof WalletStoreError && /not readable JSON/.test(err.message));
    fs.writeFileSync(file, '{"name":"something else"}');
    assert.throws(() => WalletStore.open(dir, 'abc'), /is not an m2m-ev wallet file/);
    fs.writeFileSync(file, '{"kind":"m2m-ev-wallet","version":1,"nextIndex":-4,"addresses":[]}');
    assert.throws(() => WalletStore.open(dir, 'abc'), /is damaged/);
  });
});

describe('wallet: funds on the embedded Tangle', function () {
  let tangle: TangleConnection;
  let wallet: Wallet;
  const seed = generateSeed();

  before(async function () {
    tangle = await connectTangle(settings({}));
    wallet = new Wallet({ seed, security: 2, dataDir: tempDir(), tangle });
  });
  after(async () => tangle.close());

  it('never shows its seed in JSON or util.inspect', function () {
    assert.ok(!JSON.stringify(wallet).includes(seed));
    assert.ok(!util.inspect(wallet, { depth: 5, showHidden: true }).includes(seed));
    assert.equal(wallet.seed, seed, 'the engine can still reach it');
  });

  it('tops up from the development faucet to a target, once', async function () {
    assert.equal(await wallet.topUpFromFaucet(1000), 1000);
    assert.equal(await wallet.topUpFromFaucet(1000), 0);
    assert.equal((await wallet.balance()).total, 1000);
  });

  it('sends exact amounts, marks spent inputs and sends the change to a fresh address', async function () {
    const recipient = generateAddress(generateSeed(), 0, 2);
    const sent = await wallet.send(recipient, 300);
    assert.match(sent.bundle, /^[9A-Z]{81}$/);
    assert.deepEqual(await tangle.api.getInclusionStates([sent.tail]), [true]);
    const { balances } = await tangle.api.getBalances([recipient]);
    assert.equal(Number(balances[0]), 300);
    const balance = await wallet.balance();
    assert.equal(balance.total, 700);
    const spent = wallet.addresses().filter((a) => a.spent);
    assert.equal(spent.length, 1);
    assert.equal(balance.addresses.find((a) => a.address === spent[0].address)?.balance, 0, 'asked once more: its spend is confirmed now');
    assert.ok(!(await wallet.balance()).addresses.some((a) => a.address === spent[0].address), 'and then never again');

    // The change pays the next transfer; the spent address is never an input again.
    await wallet.send(recipient, 650);
    assert.equal((await wallet.balance()).total, 50);
    assert.equal(Number((await tangle.api.getBalances([recipient])).balances[0]), 950);
  });

  it('refuses an amount it cannot cover, or that is not a positive integer, and changes nothing', async function () {
    const before = JSON.stringify(wallet.addresses());
    await assert.rejects(wallet.send(generateAddress(generateSeed(), 0, 2), 51), (err: Error) => err instanceof WalletError && /insufficient funds: 51 requested, 50 available/.test(err.message));
    await assert.rejects(wallet.send(generateAddress(generateSeed(), 0, 2), 1.5), /invalid amount/);
    assert.equal(JSON.stringify(wallet.addresses()), before);
  });

  it('gives the channel engine fresh key indices that never collide with its addresses', async function () {
    const used = new Set(wallet.addresses().map((a) => a.index));
    const indices = wallet.allocateKeyIndices(4);
    assert.equal(new Set(indices).size, 4);
    for (const i of indices) assert.ok(!used.has(i));
    assert.ok(Math.min(...indices) > Math.max(...used));
  });
});

describe('wallet: a remote node over the IRI HTTP API', function () {
  it('serves the embedded ledger, and a second device sees and moves the same funds with local PoW', async function () {
    const station = await connectTangle(settings({ mode: 'serve', port: 0 }));
    assert.match(station.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const vehicle = await connectTangle(settings({ mode: 'remote', url: station.url, localPow: true }));
    try {
      const wallet = new Wallet({ seed: generateSeed(), security: 1, dataDir: tempDir(), tangle: vehicle });
      assert.equal(await wallet.topUpFromFaucet(500), 500);
      const target = generateAddress(generateSeed(), 0, 1);
      await wallet.send(target, 120);
      assert.equal(Number((await station.api.getBalances([target])).balances[0]), 120);
      assert.equal((await wallet.balance()).total, 380);
    } finally {
      await vehicle.close();
      await station.close();
    }
  });

  it('says clearly when the port is taken or the URL is not one', async function () {
    const first = await connectTangle(settings({ mode: 'serve', port: 0 }));
    try {
      const port = Number(new URL(first.url).port);
      await assert.rejects(connectTangle(settings({ mode: 'serve', port })), new RegExp(`port ${port} on 127.0.0.1 is already in use`));
      await assert.rejects(connectTangle(settings({ mode: 'remote', url: 'station:14265' })), /invalid IOTA node URL/);
    } finally {
      await first.close();
    }
  });
});

describe('wallet: a send cut off after its inputs were marked spent', function () {
  let tangle: TangleConnection;
  before(async function () {
    tangle = await connectTangle(settings({}));
  });
  after(async () => tangle.close());

  it('is finished with the bundle signed then, also after a restart, and a retry never pays twice', async function () {
    const seed = generateSeed();
    const dataDir = tempDir();
    const wallet = new Wallet({ seed, security: 2, dataDir, tangle });
    await wallet.topUpFromFaucet(100);
    const [input] = wallet.addresses();
    const recipient = generateAddress(generateSeed(), 0, 2);
    // The node becomes unreachable just as the signed bundle is to be attached.
    const sendTrytes = tangle.api.sendTrytes;
    tangle.api.sendTrytes = (() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:14265'))) as unknown as typeof sendTrytes;
    try {
      await assert.rejects(wallet.send(recipient, 30), /ECONNREFUSED/);
    } finally {
      tangle.api.sendTrytes = sendTrytes;
    }
    const received = async () => Number((await tangle.api.getBalances([recipient])).balances[0]);
    assert.equal(await received(), 0, 'nothing reached the Tangle');
    assert.ok(wallet.addresses().find((a) => a.address === input.address)?.spent, 'the input is marked spent, never to sign again');

    // After a restart the wallet reopens from its files: the retry is the interrupted send, not a second one.
    const reopened = new Wallet({ seed, security: 2, dataDir, tangle });
    await reopened.send(recipient, 30);
    assert.equal(await received(), 30);
    assert.equal((await reopened.balance()).total, 70);
    // The input signed exactly one bundle: the one signed before the failure.
    const spends = (await tangle.api.getTransactionObjects(await tangle.api.findTransactions({ addresses: [input.address] }))).filter((tx) => tx.value < 0);
    assert.equal(new Set(spends.map((tx) => tx.bundle)).size, 1);
    // Nothing is pending now: the next send is a new one, paid from the change.
    await reopened.send(recipient, 30);
    assert.equal(await received(), 60);
    assert.equal((await reopened.balance()).total, 40);
  });
});

describe('wallet: bounded growth over many sessions', function () {
  let tangle: TangleConnection;
  before(async function () {
    tangle = await connectTangle(settings({}));
  });
  after(async () => tangle.close());

  it('asks the Tangle only about addresses that can hold funds, and its file stays the same size, session after session', async function () {
    const seed = generateSeed();
    const dataDir = tempDir();
    const wallet = new Wallet({ seed, security: 1, dataDir, tangle });
    let asked = 0;
    const perSession: number[] = [];
    const getBalances = tangle.api.getBalances;
    tangle.api.getBalances = ((addresses: readonly string[], ...rest: unknown[]) => {
      asked = addresses.length;
      return (getBalances as (...args: unknown[]) => unknown)(addresses, ...rest);
    }) as typeof getBalances;
    const fileSizes: number[] = [];
    try {
      await wallet.topUpFromFaucet(100);
      const deposit = generateAddress(generateSeed(), 0, 1);
      // A session, as the wallet sees it: a deposit (spending an input, change to a new address), a settlement
      // address, and the settlement paying it; then the balance a node shows.
      for (let session = 0; session < RETIRED_KEPT + 4; session++) {
        await wallet.send(deposit, 2);
        const settlement = await wallet.newAddress();
        await tangle.faucet(settlement, 2);
        assert.equal((await wallet.balance()).total, 100);
        perSession.push(asked);
        fileSizes.push(fs.statSync(WalletStore.open(dataDir, wallet.fingerprint).file).size);
      }
    } finally {
      tangle.api.getBalances = getBalances;
    }
    // The few addresses holding funds, and the inputs just spent (asked once more, to see their spend confirmed):
    // as many after the last session as after the fifth. Before, every address of every session.
    assert.ok(Math.max(...perSession) <= 6 && perSession.at(-1) === perSession[4], `addresses asked about after each session: ${perSession.join(' ')}`);
    assert.equal(wallet.addresses().filter((a) => a.spent).length, RETIRED_KEPT, 'only the last spent ones are kept, to recognise our own bundles');
    assert.equal(fileSizes.at(-1), fileSizes.at(-2), 'the wallet file stops growing once the retired addresses are at their cap');
    const file = JSON.parse(fs.readFileSync(WalletStore.open(dataDir, wallet.fingerprint).file, 'utf8')) as { addresses: unknown[]; retired: unknown[] };
    assert.deepEqual([file.retired.length, file.addresses.length], [RETIRED_KEPT, wallet.addresses().length - RETIRED_KEPT]);
    assert.ok(file.addresses.length <= 4, `${file.addresses.length} addresses to ask about`);
  });

  it('sends a deposit at most once to its address: a session that crashed before recording it gets it back after more sessions than retired addresses kept, and nothing is paid twice', async function () {
    const seed = generateSeed();
    const dataDir = tempDir();
    const sessions = RETIRED_KEPT + 4;
    const crashed = Array.from({ length: sessions }, () => generateAddress(generateSeed(), 0, 1));
    const wallet = new Wallet({ seed, security: 1, dataDir, tangle });
    await wallet.topUpFromFaucet(1000);
    // Deposits whose sessions crash before they journal them as sent: nobody tells the wallet to forget them.
    const sent = [];
    for (const address of crashed) sent.push(await wallet.send(address, 3, { once: true }));
    // Other sessions, recorded, each settled to a new address; every address the crashed deposits spent is retired.
    for (let session = 0; session < sessions; session++) {
      const address = generateAddress(generateSeed(), 0, 1);
      await wallet.send(address, 2, { once: true });
      wallet.forgetSentOnce(address);
      await tangle.faucet(await wallet.newAddress(), 2);
      await wallet.balance();
    }
    const inputsOf = async (address: string) => {
      const [tx] = await tangle.api.getTransactionObjects(await tangle.api.findTransactions({ addresses: [address] }));
      const bundle = await tangle.api.getTransactionObjects(await tangle.api.findTransactions({ bundles: [tx.bundle] }));
      return bundle.filter((t) => t.value < 0).map((t) => t.address);
    };
    const known = new Set(wallet.addresses().map((a) => a.address));
    assert.ok((await inputsOf(crashed[0])).every((input) => !known.has(input)), 'the first deposit is no longer recognisable by its inputs');

    // The process restarts: the wallet is reopened from its file, and each crashed session asks for its deposit again.
    await wallet.close();
    const reopened = new Wallet({ seed, security: 1, dataDir, tangle });
    for (let i = 0; i < sessions; i++) assert.deepEqual(await reopened.send(crashed[i], 3, { once: true }), sent[i]);
    const { balances } = await tangle.api.getBalances(crashed);
    assert.deepEqual(balances.map(Number), crashed.map(() => 3), 'each deposit address holds one deposit');
    assert.equal((await reopened.balance()).total, 1000 - sessions * 3);
    // Once recorded, the receipts are forgotten: the file keeps none.
    for (const address of crashed) reopened.forgetSentOnce(address);
    const file = JSON.parse(fs.readFileSync(WalletStore.open(dataDir, reopened.fingerprint).file, 'utf8')) as { sentOnce: unknown[] };
    assert.deepEqual(file.sentOnce, []);
    await reopened.close();
  });
});
