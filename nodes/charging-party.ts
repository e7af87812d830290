import type { NodeAPI, NodeDef } from 'node-red';
import { loadOrCreateIdentity, Outgoing, SessionJournal, SessionSnapshot, StationParty, TrustStore, VehicleParty } from './core/session';
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
  peerTimeout: string;
  maxAtRisk: string;
  opensPerMinute: string;
  messagesPerSecond: string;
  stationKey: string;
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
    this.role = def.role === 'vehicle' ? 'vehicle' : 'station';
    this.evse = null;
    const outlets = new Map<Stage, StageOutlet>();
    const waiting: Outgoing[] = [];
    const deliver = (message: Outgoing) => {
      const stage = message.stage === 'offer' ? 'open' : message.stage;
      const outlet = outlets.get(stage);
      if (outlet) outlet.sendProtocol(message);
      else waiting.push(message);
    };
    this.attachOutlet = (stage, outlet) => {
      outlets.set(stage, outlet);
      for (const message of waiting.splice(0)) deliver(message);
    };
    this.detachOutlet = (stage, outlet) => {
      if (outlets.get(stage) === outlet) outlets.delete(stage);
    };

    const walletNode = RED.nodes.getNode(def.wallet) as IotaWalletNode | null;
    this.wallet = walletNode ? walletNode.wallet : Promise.reject(new Error(RED._('charging-party.errors.no-wallet')));
    this.wallet.catch(() => undefined); // reported once, by the party below
    this.party = (async () => {
      const wallet = await this.wallet;
      const id = (def.partyId || '').trim();
      const folder = dataDir(RED, def.dataDir, 'sessions');
      const stationId = this.role === 'station' ? id : (def.stationId || '').trim();
      const options = {
        id,
        stationId,
        prefix: (def.prefix || 'm2m-ev/v1').replace(/\/+$/, ''),
        wallet,
        journal: new SessionJournal<SessionSnapshot>(`${folder}/${this.role}-${id}.json`),
        peerTimeoutMs: numberSetting(def.peerTimeout, 120) * 1000,
        messagesPerSecond: numberSetting(def.messagesPerSecond, 50),
      };
      const security = wallet.security;
      const maxDepth = numberSetting(def.maxDepth, 10);
      const party =
        this.role === 'station'
          ? new StationParty(options, {
              pricePerKWh: numberSetting(def.pricePerKWh, 100),
              incrementWh: numberSetting(def.incrementWh, 10),
              maxPowerW: numberSetting(def.maxPowerW, 11000),
              creditWh: numberSetting(def.creditWh, numberSetting(def.incrementWh, 10)),
              stationDeposit: numberSetting(def.stationDeposit, 0),
              security,
              maxDepth,
              maxAtRisk: numberSetting(def.maxAtRisk, 0),
              opensPerMinute: numberSetting(def.opensPerMinute, 6),
            }, await loadOrCreateIdentity(`${folder}/station-${id}.key`))
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
            }, new TrustStore(`${folder}/vehicle-${id}.trust.json`, def.stationKey?.trim() ? { [stationId]: def.stationKey.trim() } : {}));
      party.on('send', deliver);
      party.on('warning', (text: string) => this.warn(text));
      await party.start();
      return party;
    })();
    this.party.catch((err) => this.error(RED._('charging-party.errors.start', { message: messageOf(err) })));

    this.on('close', (_removed: boolean, done: () => void) => {
      this.party.then((party) => party.close(), () => undefined).finally(done);
    });
  }
  RED.nodes.registerType('charging-party', ChargingParty as never);
};
