import type { NodeAPI, NodeDef } from 'node-red';
import { SecurityLevel, Wallet } from './core/wallet';
import type { IotaTangleNode, IotaWalletNode } from './types';
import { dataDir, messageOf, numberSetting } from './support/runtime';

interface IotaWalletDef extends NodeDef {
  tangle: string;
  security: string;
  dataDir: string;
  devFunding: string;
}

/**
 * Config node `iota-wallet`: the device's seed (a credential, never in flows.json), its security level and its
 * persistent key counter, on the Tangle of an `iota-tangle` node.
 */
export = function (RED: NodeAPI) {
  function IotaWallet(this: IotaWalletNode, def: IotaWalletDef) {
    RED.nodes.createNode(this, def);
    const tangleNode = RED.nodes.getNode(def.tangle) as IotaTangleNode | null;
    const seed = this.credentials?.seed;
    const security = numberSetting(def.security, 2) as SecurityLevel;
    const devFunding = numberSetting(def.devFunding, 0);
    this.wallet = (async () => {
      if (!tangleNode) throw new Error(RED._('iota-wallet.errors.no-tangle'));
      if (!seed) throw new Error(RED._('iota-wallet.errors.no-seed'));
      const tangle = await tangleNode.connection;
      const wallet = new Wallet({ seed, security, dataDir: dataDir(RED, def.dataDir, 'wallets'), tangle });
      if (devFunding > 0) {
        const added = await wallet.topUpFromFaucet(devFunding);
        if (added > 0) this.log(RED._('iota-wallet.log.funded', { value: added }));
      }
      return wallet;
    })();
    this.wallet.catch((err) => this.error(RED._('iota-wallet.errors.open', { message: messageOf(err) })));
    // A redeploy starts the successor only once a send in flight is done: it then sees that send's spent inputs.
    this.on('close', (_removed: boolean, done: () => void) => {
      this.wallet.then((wallet) => wallet.close(), () => undefined).finally(done);
    });
  }

  RED.nodes.registerType('iota-wallet', IotaWallet as never, { credentials: { seed: { type: 'password' } } });

  // The wallet's balance for its edit dialog. Addresses and balances are public; the seed never leaves.
  RED.httpAdmin.get('/m2m-ev/iota-wallet/:id/balance', RED.auth.needsPermission('iota-wallet.read'), (req, res) => {
    const node = RED.nodes.getNode(String(req.params.id)) as IotaWalletNode | null;
    if (!node || node.type !== 'iota-wallet') {
      res.status(404).json({ error: RED._('iota-wallet.errors.not-deployed') });
      return;
    }
    node.wallet
      .then((wallet) => wallet.balance())
      .then(
        (balance) => res.json(balance),
        (err) => res.status(500).json({ error: messageOf(err) }),
      );
  });
};
