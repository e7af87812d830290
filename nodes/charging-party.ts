import type { NodeAPI, NodeDef } from 'node-red';
import { loadOrCreateIdentity, Outgoing, SessionJournal, SessionSnapshot, StationParty, TrustStore, VehicleParty } from './core/session';
import type { Role, Stage } from './core/protocol';
import type { ChargingPartyNode, IotaWalletNode, StageOutlet } from './types';
import { dataDir, messageOf, numberSetting } from './support/runtime';
import { PARTY_DEFAULTS, PartyNumberSetting } from './support/party-defaults';

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
  clockTolerance: string;
  maxAtRisk: string;
  opensPerMinute: string;
  fundingWait: string;
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

    const setting = (key: PartyNumberSetting) => numberSetting(def[key], PARTY_DEFAULTS[key]);
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
        peerTimeoutMs: setting('peerTimeout') * 1000,
        clockToleranceS: setting('clockTolerance'),
        messagesPerSecond: setting('messagesPerSecond'),
      };
      const security = wallet.security;
      const maxDepth = setting('maxDepth');
      const party =
        this.role === 'station'
          ? new StationParty(options, {
              pricePerKWh: setting('pricePerKWh'),
              incrementWh: setting('incrementWh'),
              maxPowerW: setting('maxPowerW'),
              creditWh: numberSetting(def.creditWh, setting('incrementWh')),
              stationDeposit: setting('stationDeposit'),
              security,
              maxDepth,
              maxAtRisk: setting('maxAtRisk'),
              opensPerMinute: setting('opensPerMinute'),
              fundingWaitMs: setting('fundingWait') * 1000,
            }, await loadOrCreateIdentity(`${folder}/station-${id}.key`))
          : new VehicleParty(options, {
              maxPricePerKWh: setting('maxPricePerKWh'),
              deposit: setting('deposit'),
              maxStationDeposit: numberSetting(def.maxStationDeposit, setting('deposit')),
              targetWh: setting('targetWh'),
              maxPowerW: setting('maxPowerW'),
              meterToleranceWh: setting('meterToleranceWh'),
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
