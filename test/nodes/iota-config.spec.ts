import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Node } from 'node-red';
import { generateSeed } from '../../nodes/core/wallet';
import type { IotaTangleNode, IotaWalletNode } from '../../nodes/types';
import { helper, loadFlow, testUserDir } from '../support/nodered';

import iotaTangle = require('../../nodes/iota-tangle');
import iotaWallet = require('../../nodes/iota-wallet');

function flow(walletOverrides: Record<string, unknown> = {}) {
  return [
    { id: 't1', type: 'iota-tangle', mode: 'embedded', dataDir: '', mwm: '7', depth: '3', milestoneInterval: '0', dev: true, powWorkers: '1' },
    { id: 'w1', type: 'iota-wallet', tangle: 't1', security: '1', dataDir: '', devFunding: '250', ...walletOverrides },
  ];
}

describe('nodes: iota-tangle and iota-wallet config nodes', function () {
  before(() => helper.startServer());
  after(() => helper.stopServer());
  afterEach(() => helper.unload());

  it('opens the embedded Tangle in the user directory and funds the wallet from the faucet', async function () {
    const seed = generateSeed();
    await loadFlow([iotaTangle, iotaWallet], flow(), { w1: { seed } });
    const tangle = helper.getNode('t1') as IotaTangleNode;
    const walletNode = helper.getNode('w1') as IotaWalletNode;
    const connection = await tangle.connection;
    assert.match(connection.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(fs.existsSync(path.join(testUserDir, 'm2m-ev', 'tangle')));
    const wallet = await walletNode.wallet;
    assert.equal((await wallet.balance()).total, 250);
    assert.equal(wallet.security, 1);
    assert.ok(fs.readdirSync(path.join(testUserDir, 'm2m-ev', 'wallets')).some((f) => f === `wallet-${wallet.fingerprint}.json`));
  });

  it('lets two wallet nodes on one seed share one key counter, and closes a wallet only after its send in flight', async function () {
    const seed = generateSeed();
    const nodes = [...flow({ devFunding: '100' }), { id: 'w2', type: 'iota-wallet', tangle: 't1', security: '1', dataDir: '', devFunding: '0' }];
    await loadFlow([iotaTangle, iotaWallet], nodes, { w1: { seed }, w2: { seed } });
    const first = await (helper.getNode('w1') as IotaWalletNode).wallet;
    const second = await (helper.getNode('w2') as IotaWalletNode).wallet;
    const indices = [first, second, first, second, second, first].flatMap((wallet) => wallet.allocateKeyIndices(2));
    assert.equal(new Set(indices).size, indices.length, `an index was handed out twice: ${indices.join(',')}`);
    assert.equal((await second.balance()).total, 100, 'both see the same addresses');
    // Stopping the flow (as a redeploy does) while a send is under way: the wallet node closes once the send is
    // over (here it fails, as the Tangle node stops at the same time; the wallet finishes it on its next send).
    let over = false;
    const send = first.send(generateSeed().slice(0, 80) + '9', 10).finally(() => (over = true)).catch(() => undefined);
    await helper.unload();
    assert.ok(over, 'the send was over before the wallet node closed');
    await send;
  });

  it('serves the balance to the editor without the seed', async function () {
    const seed = generateSeed();
    await loadFlow([iotaTangle, iotaWallet], flow(), { w1: { seed } });
    await (helper.getNode('w1') as IotaWalletNode).wallet;
    const res = await helper.request().get('/m2m-ev/iota-wallet/w1/balance').expect(200);
    assert.equal(res.body.total, 250);
    assert.equal(res.body.addresses.length, 1);
    assert.ok(!res.text.includes(seed));
    await helper.request().get('/m2m-ev/iota-wallet/nope/balance').expect(404);
  });

  it('reports a wallet without a seed as an error of the node and to the editor', async function () {
    await loadFlow([iotaTangle, iotaWallet], flow());
    const walletNode = helper.getNode('w1') as IotaWalletNode & Node;
    await assert.rejects(walletNode.wallet, /iota-wallet.errors.no-seed/);
    await new Promise((resolve) => setImmediate(resolve));
    const errorSpy = walletNode.error as unknown as { args: unknown[][] };
    assert.ok(errorSpy.args.some((args) => /iota-wallet.errors.open/.test(String(args[0]))));
    const res = await helper.request().get('/m2m-ev/iota-wallet/w1/balance').expect(500);
    assert.match(res.body.error, /no-seed/);
  });

  it('declares the seed as a password credential, so Node-RED keeps it out of flows.json', function () {
    const seen: Record<string, unknown> = {};
    const fakeRED = {
      nodes: { registerType: (type: string, _ctor: unknown, options: unknown) => (seen[type] = options), createNode: () => undefined, getNode: () => null },
      httpAdmin: { get: () => undefined },
      auth: { needsPermission: () => undefined },
      settings: { userDir: os.tmpdir() },
      _: (key: string) => key,
    };
    iotaWallet(fakeRED as never);
    assert.deepEqual(seen['iota-wallet'], { credentials: { seed: { type: 'password' } } });
  });
});
