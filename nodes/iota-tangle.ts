import type { NodeAPI, NodeDef } from 'node-red';
import { connectTangle, TangleMode } from './core/wallet';
import type { IotaTangleNode } from './types';
import { dataDir, messageOf, numberSetting } from './support/runtime';

interface IotaTangleDef extends NodeDef {
  mode: TangleMode;
  dataDir: string;
  host: string;
  port: string;
  url: string;
  mwm: string;
  depth: string;
  milestoneInterval: string;
  dev: boolean;
  localPow: boolean;
  powWorkers: string;
}

/**
 * Config node `iota-tangle`: where this device's IOTA transactions go. All nodes of a runtime that name the same
 * data directory share one embedded ledger (see core/ledger leaseTangle).
 */
export = function (RED: NodeAPI) {
  function IotaTangle(this: IotaTangleNode, def: IotaTangleDef) {
    RED.nodes.createNode(this, def);
    const mode: TangleMode = ['embedded', 'serve', 'remote'].includes(def.mode) ? def.mode : 'embedded';
    this.connection = connectTangle({
      mode,
      dataDir: dataDir(RED, def.dataDir, 'tangle'),
      host: def.host || '127.0.0.1',
      port: numberSetting(def.port, 14265),
      url: def.url,
      minWeightMagnitude: numberSetting(def.mwm, 9),
      depth: numberSetting(def.depth, 3),
      milestoneIntervalMs: numberSetting(def.milestoneInterval, 0) * 1000,
      dev: def.dev !== false,
      localPow: def.localPow === true,
      powWorkers: numberSetting(def.powWorkers, 1),
    });
    this.connection.then(
      (c) => this.log(RED._('iota-tangle.log.ready', { mode, url: c.url })),
      (err) => this.error(RED._('iota-tangle.errors.open', { message: messageOf(err) })),
    );
    this.on('close', (_removed: boolean, done: () => void) => {
      this.connection
        .then((c) => c.close(), () => undefined)
        .catch((err) => this.warn(messageOf(err)))
        .finally(done);
    });
  }
  RED.nodes.registerType('iota-tangle', IotaTangle as never);
};
