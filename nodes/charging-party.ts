import type { NodeAPI, NodeDef } from 'node-red';
import { Outgoing, SessionJournal, SessionSnapshot, StationParty, VehicleParty } from './core/session';
import type { Role, Stage } from './core/protocol';
import type { ChargingPartyNode, IotaWalletNode, StageOutlet } from './types';
import { dataDir, messageOf, numberSetting } from './support/runtime';

interface ChargingPartyDef extends NodeDef {
  role: Role;
  partyId: string;
  stationId: string;
  wallet: string;
  prefix: string;
  dataDir: string;
  pricePerKWh: string;
  incrementWh: string;
  maxPowerW: string;
  creditWh: string;
  stationDeposit: string;
  maxDepth: string;
  maxPricePerKWh: string;
  deposit: string;
  maxStationDeposit: string;
  targetWh: string;
  meterToleranceWh: string;
  autoStart: boolean;
}

/**
 * Config node `charging-party`: one side of a charging session, the station or the vehicle. It owns the session
 * (channel, journal, sequencing) that the stage nodes share: `flash-channel-open`, `pay-increment`,
 * `channel-settle`, and on a station `evse-control` and a simulated `meter-in`. Those nodes infer their role
 * from it.
 */
export = function (RED: NodeAPI) {
  function ChargingParty(this: ChargingPartyNode, def: ChargingPartyDef) {
    RED.nodes.createNode(this, def);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the closures below need the node
    const node = this;
    node.role = def.role === 'vehicle' ? 'vehicle' : 'station';
    node.evse = null;
    const outlets = new Map<Stage, StageOutlet>();
    const waiting: Outgoing[] = [];
    const deliver = (message: Outgoing) => {
      const stage = message.stage === 'offer' ? 'open' : message.stage;
      const outlet = outlets.get(stage);
      if (outlet) outlet.sendProtocol(message);
      else waiting.push(message);
    };
    node.attachOutlet = (stage, outlet) => {
      outlets.set(stage, outlet);
      for (const message of waiting.splice(0)) deliver(message);
    };
    node.detachOutlet = (stage, outlet) => {
      if (outlets.get(stage) === outlet) outlets.delete(stage);
    };

    const walletNode = RED.nodes.getNode(def.wallet) as IotaWalletNode | null;
    node.party = (async () => {
      if (!walletNode) throw new Error(RED._('charging-party.errors.no-wallet'));
      const wallet = await walletNode.wallet;
      const id = (def.partyId || '').trim();
      const options = {
        id,
        stationId: node.role === 'station' ? id : (def.stationId || '').trim(),
        prefix: (def.prefix || 'm2m-ev/v1').replace(/\/+$/, ''),
        wallet,
        journal: new SessionJournal<SessionSnapshot>(`${dataDir(RED, def.dataDir, 'sessions')}/${node.role}-${id}.json`),
      };
      const security = wallet.security;
      const maxDepth = numberSetting(def.maxDepth, 10);
      const party =
        node.role === 'station'
          ? new StationParty(options, {
              pricePerKWh: numberSetting(def.pricePerKWh, 100),
              incrementWh: numberSetting(def.incrementWh, 10),
              maxPowerW: numberSetting(def.maxPowerW, 11000),
              creditWh: numberSetting(def.creditWh, numberSetting(def.incrementWh, 10)),
              stationDeposit: numberSetting(def.stationDeposit, 0),
              security,
              maxDepth,
            })
          : new VehicleParty(options, {
              maxPricePerKWh: numberSetting(def.maxPricePerKWh, 200),
              deposit: numberSetting(def.deposit, 100),
              maxStationDeposit: numberSetting(def.maxStationDeposit, numberSetting(def.deposit, 100)),
              targetWh: numberSetting(def.targetWh, 0),
              maxPowerW: numberSetting(def.maxPowerW, 11000),
              meterToleranceWh: numberSetting(def.meterToleranceWh, 0),
              maxDepth,
              security,
              autoStart: def.autoStart !== false,
            });
      party.on('send', deliver);
      party.on('warning', (text: string) => node.warn(text));
      await party.start();
      return party;
    })();
    node.party.catch((err) => node.error(RED._('charging-party.errors.start', { message: messageOf(err) })));

    node.on('close', (_removed: boolean, done: () => void) => {
      node.party.then((party) => party.close(), () => undefined).finally(done);
    });
  }
  RED.nodes.registerType('charging-party', ChargingParty as never);
};
