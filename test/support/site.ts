import path from 'node:path';
import { SessionCharger, SimulatedEvse } from '../../nodes/core/evse';
import { newKeyPair } from '../../nodes/core/protocol';
import { Outgoing, Party, SessionJournal, SessionRecord, SessionSnapshot, StationParty, StationPolicy, TrustStore, VehicleParty, VehiclePolicy } from '../../nodes/core/session';
import { ConnectorCoupling, ConnectorShare, SiteBudget, SiteSnapshot } from '../../nodes/core/site';
import { generateSeed, TangleConnection, Wallet } from '../../nodes/core/wallet';
import { FakeClock } from '../core/evse/fake-clock';
import { tempDir } from './parties';
import { until } from './wait';

export interface SiteBenchOptions {
  connectors: number;
  vehicles: number;
  /** The site limit and each charger's own maximum, whole amps. */
  limitA: number;
  maxCurrentA: number;
  /** The energy each vehicle buys, Wh. */
  targetWh: number;
  /** A vehicle arrives every this many ms of simulated time. */
  arrivalEveryMs: number;
  /** Simulated time between two meter readings, ms. */
  tickMs: number;
}

/** One vehicle's visit: when it arrived, was plugged in, first got current, and its session's records. */
export interface Visit {
  vehicle: VehicleParty;
  wallet: Wallet;
  arrivedAt: number;
  connectorId: string | null;
  pluggedAt: number | null;
  poweredAt: number | null;
  records: { station?: SessionRecord; vehicle?: SessionRecord };
}

interface Connector {
  id: string;
  station: StationParty;
  evse: SimulatedEvse;
  visit: Visit | null;
  offer: Outgoing | null;
}

const PREFIX = 'm2m-ev/v1';
const STATION_FUNDS = 200;
const VEHICLE_FUNDS = 100;

/**
 * One station with N connectors on one site budget, and vehicles that arrive one after another, wait for a free
 * connector, plug in, charge their target and leave. Everything is real (parties, channels, crypto, the embedded
 * Tangle) except the chargers and the meter, which are simulated on a clock that moves one meter reading at a time,
 * once the payments of the last reading are through. Messages travel as MQTT would carry them, by topic.
 */
export class SiteBench {
  readonly clock = new FakeClock();
  readonly budget: SiteBudget;
  readonly stationWallet: Wallet;
  readonly connectors: Connector[] = [];
  readonly visits: Visit[] = [];
  readonly errors: string[] = [];
  readonly snapshots: SiteSnapshot[] = [];
  /** The most current the chargers offered at once, and the most power they delivered at once. */
  peak = { offeredA: 0, drawnW: 0 };
  private readonly identity = newKeyPair();
  private readonly dir = tempDir();
  private inFlight = 0;

  constructor(
    private readonly tangle: TangleConnection,
    readonly options: SiteBenchOptions,
  ) {
    this.budget = new SiteBudget({ limitA: options.limitA });
    this.budget.on('site', (snapshot: SiteSnapshot) => this.snapshots.push(snapshot));
    this.budget.on('share', (share: ConnectorShare) => this.powered(share));
    this.stationWallet = new Wallet({ seed: generateSeed(), security: 1, dataDir: path.join(this.dir, 'station-wallet'), tangle });
  }

  /** Funds the wallets, starts the connectors and lets the vehicles arrive; resolves when every visit settled. */
  async run(): Promise<void> {
    await this.stationWallet.topUpFromFaucet(STATION_FUNDS);
    for (let n = 1; n <= this.options.connectors; n++) await this.addConnector(`ST1-${n}`);
    const start = this.clock.now();
    for (let i = 1; i <= this.options.vehicles; i++) {
      const wallet = new Wallet({ seed: generateSeed(), security: 1, dataDir: path.join(this.dir, `ev${i}-wallet`), tangle: this.tangle });
      await wallet.topUpFromFaucet(VEHICLE_FUNDS);
      const arrivedAt = start + (i - 1) * this.options.arrivalEveryMs;
      this.visits.push({ vehicle: null as unknown as VehicleParty, wallet, arrivedAt, connectorId: null, pluggedAt: null, poweredAt: null, records: {} });
    }
    while (this.visits.some((v) => !v.records.station || !v.records.vehicle)) {
      await this.plugArrivedVehicles();
      await until(() => this.atRest(), 'the payments of the last reading');
      this.clock.advance(this.options.tickMs);
      for (const connector of this.connectors) await this.read(connector);
    }
  }

  close(): void {
    for (const c of this.connectors) {
      c.station.close();
      c.evse.close();
    }
    for (const v of this.visits) v.vehicle?.close();
  }

  private common(id: string, stationId: string, wallet: Wallet, journal: string) {
    return {
      id,
      stationId,
      prefix: PREFIX,
      pollMs: 20,
      wallet,
      journal: new SessionJournal<SessionSnapshot>(path.join(this.dir, journal)),
      messagesPerSecond: 1e6,
      now: () => this.clock.now(),
    };
  }

  private async addConnector(id: string): Promise<void> {
    const policy: StationPolicy = { pricePerKWh: 100, incrementWh: 10, maxPowerW: 11000, creditWh: 10, stationDeposit: 20, security: 1, maxDepth: 4, watchMs: 0 };
    const station = new StationParty(this.common(id, id, this.stationWallet, `${id}.json`), policy, this.identity);
    const evse = new SimulatedEvse({ maxCurrentA: this.options.maxCurrentA, clock: this.clock });
    const connector: Connector = { id, station, evse, visit: null, offer: null };
    this.budget.addConnector(id, this.options.maxCurrentA);
    evse.on('status', () => this.measure());
    this.wire(station, (out) => (out.stage === 'offer' ? this.offered(connector, out) : connector.visit?.vehicle));
    this.connectors.push(connector);
    await station.start();
    this.chargeWith(connector);
    new ConnectorCoupling(this.budget, id, station, evse);
  }

  /** The product's charger control follows the session (on when the channel opens, the credit gate, off at the stop). */
  private chargeWith({ station, evse }: Connector): void {
    new SessionCharger(evse).attach(station);
    station.on('settled', (record: SessionRecord) => {
      const connector = this.connectors.find((c) => c.station === station)!;
      connector.visit!.records.station = record;
      this.leaveWhenSettled(connector);
    });
  }

  /** Once both sides have settled, the vehicle unplugs and drives off: the connector is free for the next. */
  private leaveWhenSettled(connector: Connector): void {
    const visit = connector.visit!;
    if (!visit.records.station || !visit.records.vehicle) return;
    visit.vehicle.close();
    connector.evse.unplug();
    connector.visit = null;
  }

  /** The retained offer: kept for the next vehicle to plug in, and delivered to the one there now. */
  private offered(connector: Connector, out: Outgoing): VehicleParty | undefined {
    connector.offer = out;
    return this.sessionOpen(connector.visit) ? connector.visit!.vehicle : undefined;
  }

  /** A vehicle charges once: after the station's record of its session, the two have nothing more to say. */
  private sessionOpen(visit: Visit | null): boolean {
    return visit !== null && !visit.records.station;
  }

  private wire(party: Party, to: (out: Outgoing) => Party | undefined): void {
    party.on('warning', (w: string) => this.errors.push(`${party.role} warning: ${w}`));
    party.on('send', (out: Outgoing) => {
      const target = to(out);
      if (!target) return;
      this.deliver(target, out);
    });
  }

  private deliver(target: Party, out: Outgoing): void {
    this.inFlight++;
    setImmediate(() => {
      target
        .receive(out.stage, JSON.stringify(out.payload))
        .catch((err: Error) => this.errors.push(`${target.role}: ${err.message}`))
        .finally(() => this.inFlight--);
    });
  }

  /** Vehicles that have arrived take the free connectors, first come first served. */
  private async plugArrivedVehicles(): Promise<void> {
    for (const connector of this.connectors) {
      if (connector.visit || connector.station.phase !== 'idle') continue;
      const visit = this.visits.find((v) => v.connectorId === null && v.arrivedAt <= this.clock.now());
      if (!visit) return;
      connector.visit = visit;
      visit.connectorId = connector.id;
      visit.pluggedAt = this.clock.now();
      const n = this.visits.indexOf(visit) + 1;
      const policy: VehiclePolicy = {
        maxPricePerKWh: 200, deposit: 20, maxStationDeposit: 100, targetWh: this.options.targetWh, maxPowerW: 11000, meterToleranceWh: 0,
        maxDepth: 4, security: 1, autoStart: true, settleGraceMs: 3000,
      };
      const vehicle = new VehicleParty(this.common(`EV${n}`, connector.id, visit.wallet, `ev${n}.json`), policy, new TrustStore(path.join(this.dir, `ev${n}.trust.json`)));
      visit.vehicle = vehicle;
      vehicle.on('settled', (record: SessionRecord) => {
        visit.records.vehicle = record;
        this.leaveWhenSettled(connector);
      });
      this.wire(vehicle, () => (this.sessionOpen(visit) ? connector.station : undefined));
      await vehicle.start();
      connector.evse.plug();
      if (connector.offer) this.deliver(vehicle, connector.offer);
    }
  }

  /** A meter reading of the connector's charger while its session charges. */
  private async read(connector: Connector): Promise<void> {
    const s = connector.station.session;
    if (s.phase !== 'charging' || s.stopReason) return;
    const registerWh = 1000 + Math.floor(connector.evse.deliveredWh());
    await connector.station.meterReading({ registerWh, timestamp: this.clock.now(), source: 'test' }).catch((err: Error) => this.errors.push(`meter: ${err.message}`));
  }

  /**
   * Simulated time moves only while every visit is charging (its claims paid) or waiting for power: the opening,
   * the deposits and the settlement take real time, during which the site's clock stands still.
   */
  private atRest(): boolean {
    if (this.inFlight > 0) return false;
    return this.connectors.every(({ station, visit }) => {
      if (!visit) return true;
      const s = station.session;
      return s.phase === 'charging' && s.stopReason === null && s.paidIncrements >= s.claimedIncrements;
    });
  }

  private powered(share: ConnectorShare): void {
    const visit = this.connectors.find((c) => c.id === share.connectorId)?.visit;
    if (share.currentA > 0 && visit && visit.poweredAt === null) visit.poweredAt = this.clock.now();
  }

  private measure(): void {
    const statuses = this.connectors.map((c) => c.evse.status());
    const offeredA = statuses.reduce((sum, s) => sum + s.offeredCurrentA, 0);
    const drawnW = statuses.reduce((sum, s) => sum + (s.powerW ?? 0), 0);
    this.peak = { offeredA: Math.max(this.peak.offeredA, offeredA), drawnW: Math.max(this.peak.drawnW, drawnW) };
  }
}
