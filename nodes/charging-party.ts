import type { NodeAPI, NodeDef } from 'node-red';
import { loadOrCreateIdentity, SessionJournal, SessionSnapshot, StationParty, TrustStore, VehicleParty } from './core/session';
import { SiteBudget } from './core/site';
import type { Role, Stage } from './core/protocol';
import type { Position, Strategy } from './core/selection';
import type { ChargingPartyNode, IotaWalletNode, Published, StageOutlet } from './types';
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
  connectors: string;
  siteLimitA: string;
  latitude: string;
  longitude: string;
  geohash: string;
  offerValidity: string;
  strategy: Strategy;
  weightCost: string;
  weightPower: string;
  weightDistance: string;
  choiceWindow: string;
  openTimeout: string;
}

/** The position in the settings, if any: both coordinates or neither. */
function positionOf(def: ChargingPartyDef, problem: string): Position | undefined {
  const [latitude, longitude] = [def.latitude, def.longitude].map((v) => String(v ?? '').trim());
  if (latitude === '' && longitude === '') return undefined;
  const position = { latitude: Number(latitude), longitude: Number(longitude) };
  if (latitude === '' || longitude === '' || !(Math.abs(position.latitude) <= 90 && Math.abs(position.longitude) <= 180)) throw new Error(problem);
  return position;
}

/**
 * Config node `charging-party`: one side of a charging session, the station or the vehicle. It owns the session
 * (channel, journal, sequencing) that the stage nodes share: `flash-channel-open`, `pay-increment`,
 * `channel-settle`, and on a station `evse-control` and a simulated `meter-in`. Those nodes infer their role
 * from it.
 *
 * A station may have several connectors: each is a party of its own (its session, channel and journal), with the
 * connector id as its station id (`<id>-1`, `<id>-2`, …; just `<id>` with one connector), and one key and wallet
 * for all. With a site limit, the connectors share it (SiteBudget).
 */
export = function (RED: NodeAPI) {
  function ChargingParty(this: ChargingPartyNode, def: ChargingPartyDef) {
    RED.nodes.createNode(this, def);
    this.role = def.role === 'vehicle' ? 'vehicle' : 'station';
    this.evses = new Map();
    const outlets = new Map<Stage, StageOutlet>();
    const waiting: Published[] = [];
    const deliver = (message: Published) => {
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
    const connectors = this.role === 'station' ? Math.max(1, Math.floor(setting('connectors'))) : 1;
    const siteLimitA = this.role === 'station' ? setting('siteLimitA') : 0;
    this.site = siteLimitA > 0 ? new SiteBudget({ limitA: Math.floor(siteLimitA) }) : null;
    const partyId = (def.partyId || '').trim();
    this.partyId = partyId;
    this.connectorIds =
      this.role === 'vehicle' ? [(def.stationId || '').trim()] : connectors === 1 ? [partyId] : Array.from({ length: connectors }, (_, i) => `${partyId}-${i + 1}`);
    const stationKey = (def.stationKey || '').trim();
    this.parties = (async () => {
      // A key pins the one station the vehicle charges at: without a Station id it would pin nothing.
      if (this.role === 'vehicle' && stationKey !== '' && this.connectorIds[0] === '') throw new Error(RED._('charging-party.errors.key-without-station'));
      const wallet = await this.wallet;
      const folder = dataDir(RED, def.dataDir, 'sessions');
      const common = {
        prefix: (def.prefix || 'm2m-ev/v1').replace(/\/+$/, ''),
        wallet,
        peerTimeoutMs: setting('peerTimeout') * 1000,
        clockToleranceS: setting('clockTolerance'),
        messagesPerSecond: setting('messagesPerSecond'),
      };
      const journal = (ownId: string) => new SessionJournal<SessionSnapshot>(`${folder}/${this.role}-${ownId}.json`);
      const security = wallet.security;
      const maxDepth = setting('maxDepth');
      const position = positionOf(def, RED._('charging-party.errors.position'));
      const geohash = (def.geohash || '').trim();
      let parties: [string, StationParty | VehicleParty][];
      if (this.role === 'station') {
        const identity = await loadOrCreateIdentity(`${folder}/station-${partyId}.key`);
        const policy = {
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
          offerValidityMs: setting('offerValidity') * 1000,
          ...(position ? { location: { latitude: position.latitude.toFixed(6), longitude: position.longitude.toFixed(6) } } : {}),
          ...(geohash ? { geohash } : {}),
        };
        parties = this.connectorIds.map((connectorId) => [connectorId, new StationParty({ ...common, id: connectorId, stationId: connectorId, journal: journal(connectorId) }, policy, identity)]);
      } else {
        const [stationId] = this.connectorIds;
        const trust = new TrustStore(`${folder}/vehicle-${partyId}.trust.json`, stationKey ? { [stationId]: stationKey } : {});
        parties = [[
          stationId,
          new VehicleParty({ ...common, id: partyId, stationId, journal: journal(partyId) }, {
            maxPricePerKWh: setting('maxPricePerKWh'),
            deposit: setting('deposit'),
            maxStationDeposit: numberSetting(def.maxStationDeposit, setting('deposit')),
            targetWh: setting('targetWh'),
            maxPowerW: setting('maxPowerW'),
            meterToleranceWh: setting('meterToleranceWh'),
            maxDepth,
            security,
            autoStart: def.autoStart !== false,
            selection: {
              strategy: def.strategy || 'cheapest',
              weights: { cost: setting('weightCost'), power: setting('weightPower'), distance: setting('weightDistance') },
              ...(position ? { position } : {}),
            },
            choiceWindowMs: setting('choiceWindow') * 1000,
            openTimeoutMs: setting('openTimeout') * 1000,
          }, trust),
        ]];
      }
      for (const [connectorId, party] of parties) {
        party.on('send', deliver);
        party.on('withdraw', deliver);
        party.on('warning', (text: string) => this.warn(connectors > 1 ? `${connectorId}: ${text}` : text));
      }
      await Promise.all(parties.map(([, party]) => party.start()));
      return new Map(parties);
    })();
    this.parties.catch((err) => this.error(RED._('charging-party.errors.start', { message: messageOf(err) })));

    this.on('close', (_removed: boolean, done: () => void) => {
      this.parties.then((parties) => Promise.all([...parties.values()].map((party) => party.close())), () => undefined).finally(done);
    });
  }

  RED.nodes.registerType('charging-party', ChargingParty as never);
};
