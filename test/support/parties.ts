import path from 'node:path';
import { settlementBundles, type ChannelState } from '../../nodes/core/flash';
import { KeyPair, newKeyPair } from '../../nodes/core/protocol';
import { Outgoing, Party, SessionRecord, PartyOptions, SessionJournal, SessionSnapshot, StationParty, StationPolicy, TrustStore, VehicleParty, VehiclePolicy } from '../../nodes/core/session';
import { connectTangle, generateSeed, TangleConnection, Wallet } from '../../nodes/core/wallet';
import { tempDir } from './temp';
import { until } from './wait';

export { tempDir };

export function devTangle(): Promise<TangleConnection> {
  return connectTangle({
    mode: 'embedded', dataDir: tempDir(), host: '127.0.0.1', port: 0, url: '', minWeightMagnitude: 5, depth: 3,
    milestoneIntervalMs: 0, dev: true, localPow: false, powWorkers: 1,
  });
}

/** Thrown from onStep to stop a party at a step: after a journal write, before anything that depends on it is sent. */
export class Crash extends Error {}

export interface PairOptions {
  station?: Partial<StationPolicy>;
  vehicle?: Partial<VehiclePolicy>;
  common?: Partial<PartyOptions>;
  /** Each side's own clock, when they must differ (default: `common.now`, or the system clock). */
  clocks?: Partial<Record<'station' | 'vehicle', () => number>>;
  /** Deliver at most this many offers (default: all). */
  maxOffers?: number;
  /**
   * Steps (as onStep names them, matched as a substring) at which the named side crashes, in order for each side;
   * it restarts from its files unless `restart` is false (then it has vanished for good).
   */
  crashes?: Crashpoint[];
}

export interface Crashpoint {
  side: 'station' | 'vehicle';
  step: string;
  restart?: boolean;
}

/**
 * A station and a vehicle on one Tangle, linked as MQTT would link them (serialised, asynchronous, in order). Each
 * side can crash (at a journal step, or when told) and be restarted from its journal, seed and key files: the
 * link then talks to the new instance, and whatever the dead one had in flight is lost.
 */
export class Pair {
  readonly seeds: { station: string; vehicle: string };
  readonly dirs = { station: tempDir(), vehicle: tempDir() };
  readonly wallets: { station: Wallet; vehicle: Wallet };
  readonly identity: KeyPair = newKeyPair();
  station!: StationParty;
  vehicle!: VehicleParty;
  readonly errors: Error[] = [];
  readonly sent: Outgoing[] = [];
  readonly warnings: string[] = [];
  readonly crashed: string[] = [];
  /** Session records by side, from whichever instance emitted them. */
  readonly settled: { station: SessionRecord[]; vehicle: SessionRecord[] } = { station: [], vehicle: [] };
  readonly events: [string, string, unknown][] = [];
  /** Messages sent and not yet taken by the other side (handled, refused or dropped): 0 when the exchange rests. */
  inFlight = 0;
  /** Offers delivered so far; after `maxOffers` the vehicle hears no more (no second session). */
  private offers = 0;
  private readonly crashes: Crashpoint[];

  constructor(
    readonly tangle: TangleConnection,
    private readonly options: PairOptions = {},
  ) {
    this.seeds = { station: generateSeed(), vehicle: generateSeed() };
    this.wallets = {
      station: new Wallet({ seed: this.seeds.station, security: 1, dataDir: path.join(this.dirs.station, 'wallet'), tangle }),
      vehicle: new Wallet({ seed: this.seeds.vehicle, security: 1, dataDir: path.join(this.dirs.vehicle, 'wallet'), tangle }),
    };
    this.crashes = [...(options.crashes ?? [])];
  }

  private common(side: 'station' | 'vehicle'): PartyOptions {
    return {
      id: side === 'station' ? 'ST1' : 'EV1',
      stationId: 'ST1',
      prefix: 'm2m-ev/v1',
      pollMs: 20,
      wallet: this.wallets[side],
      journal: new SessionJournal<SessionSnapshot>(path.join(this.dirs[side], 'sessions', `${side}.json`)),
      messagesPerSecond: 1e6,
      ...this.options.common,
      ...(this.options.clocks?.[side] ? { now: this.options.clocks[side] } : {}),
      onStep: (step) => {
        const next = this.crashes.findIndex((c) => c.side === side);
        if (next >= 0 && step.includes(this.crashes[next].step)) {
          const [crash] = this.crashes.splice(next, 1);
          this.crashed.push(step);
          this.kill(side);
          if (crash.restart !== false) setTimeout(() => void this.restart(side).catch((err: Error) => this.errors.push(err)), 50);
          throw new Crash(`crash after "${step}"`);
        }
      },
    };
  }

  makeStation(): StationParty {
    const policy: StationPolicy = { pricePerKWh: 100, incrementWh: 10, maxPowerW: 11000, creditWh: 10, stationDeposit: 20, security: 1, maxDepth: 4, watchMs: 0, ...this.options.station };
    this.station = new StationParty(this.common('station'), policy, this.identity);
    this.live.add(this.station);
    this.wire(this.station);
    return this.station;
  }

  makeVehicle(): VehicleParty {
    const policy: VehiclePolicy = {
      maxPricePerKWh: 200, deposit: 20, maxStationDeposit: 100, targetWh: 40, maxPowerW: 11000, meterToleranceWh: 0, maxDepth: 4, security: 1,
      autoStart: true, settleGraceMs: 3000, ...this.options.vehicle,
    };
    this.vehicle = new VehicleParty(this.common('vehicle'), policy, new TrustStore(path.join(this.dirs.vehicle, 'sessions', 'trust.json')));
    this.live.add(this.vehicle);
    this.wire(this.vehicle);
    return this.vehicle;
  }

  /** Funds both wallets with 100 tokens and starts both sides. */
  async start(): Promise<void> {
    await this.wallets.station.topUpFromFaucet(100);
    await this.wallets.vehicle.topUpFromFaucet(100);
    this.makeVehicle();
    this.makeStation();
    await this.vehicle.start();
    await this.station.start();
  }

  /** Starts both sides and resolves once the channel is charging. */
  async startCharging(): Promise<void> {
    await this.start();
    await until(() => this.station.phase === 'charging' && this.vehicle.phase === 'charging');
  }

  private wire(party: Party): void {
    party.on('warning', (w: string) => this.warnings.push(`${party.role}: ${w}`));
    party.on('settled', (record: SessionRecord) => this.settled[party.role].push(record));
    for (const event of ['stopping', 'unpaid', 'old-state', 'resumed', 'paid', 'clock']) party.on(event, (payload: unknown) => this.events.push([party.role, event, payload]));
    party.on('send', (out: Outgoing) => {
      if (!this.live.has(party)) return; // a dead instance says nothing
      if (out.stage === 'offer' && this.options.maxOffers !== undefined && this.offers++ >= this.options.maxOffers) return;
      this.sent.push(out);
      this.inFlight++;
      const toRole = party.role === 'station' ? 'vehicle' : 'station';
      setImmediate(() => {
        const to = this.current(toRole);
        if (!to || this.down.has(toRole)) {
          this.inFlight--;
          return;
        }
        to.receive(out.stage, JSON.stringify(out.payload))
          .catch((err: Error) => {
            if (!(err instanceof Crash)) this.errors.push(err);
          })
          .finally(() => this.inFlight--);
      });
    });
  }

  private readonly down = new Set<string>();

  private current(role: string): Party | undefined {
    return role === 'station' ? this.station : this.vehicle;
  }

  /** Stops one side at once, as a power cut would: it neither sends nor receives any more. */
  kill(side: 'station' | 'vehicle'): void {
    this.down.add(side);
    const party = this.current(side);
    if (party) this.live.delete(party);
    party?.close();
  }

  /** Starts the side again from its journal; it takes messages once it has started. */
  async restart(side: 'station' | 'vehicle'): Promise<Party> {
    const old = this.current(side);
    const party = side === 'station' ? this.makeStation() : this.makeVehicle();
    if (side === 'station') this.station = old as StationParty;
    else this.vehicle = old as VehicleParty;
    this.live.add(party);
    await party.start();
    if (side === 'station') this.station = party as StationParty;
    else this.vehicle = party as VehicleParty;
    this.down.delete(side);
    return party;
  }

  /** Instances that are allowed to speak: the current one of each side, and one that is starting. */
  private readonly live = new Set<Party>();

  close(): void {
    this.station?.close();
    this.vehicle?.close();
  }
}

/** What money depends on: none of it may change when a bad message is refused. */
export function money(s: Readonly<SessionSnapshot>): string {
  return JSON.stringify({ phase: s.phase, channel: s.channel, claimed: s.claimedIncrements, paid: s.paidIncrements, inbound: s.inbound, outSeq: s.outSeq });
}


/**
 * For a `describe` block of Pair tests: one development Tangle for the block, and the pair a test `track`s closed
 * after it (its crashes, warnings and errors printed when it failed).
 */
export function pairTests(): { tangle: () => TangleConnection; track: (pair: Pair) => Pair } {
  let tangle: TangleConnection;
  let running: Pair | undefined;
  before(async () => {
    tangle = await devTangle();
  });
  after(() => tangle.close());
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && running) {
      console.log({ crashed: running.crashed, warnings: running.warnings.slice(-20), errors: running.errors.slice(-20).map((e) => e.message) });
    }
    running?.close();
    running = undefined;
  });
  return { tangle: () => tangle, track: (pair) => (running = pair) };
}

/** Attaches a co-signed channel state behind the parties' backs, as a peer attaching an older state would. */
export async function attachState(tangle: TangleConnection, channel: ChannelState): Promise<void> {
  const { depth, minWeightMagnitude } = tangle.settings;
  let reference: string | undefined;
  for (const trytes of settlementBundles(channel)) {
    const sent = await tangle.api.sendTrytes(trytes, depth, minWeightMagnitude, ...(reference ? [reference] : []));
    reference = sent.find((tx) => tx.currentIndex === 0)!.hash;
  }
}

/** Drives the station's meter: 10 Wh per reading, 10 s apart on the parties' clock, while the session charges. */
export async function charge(pair: Pair, clock: { t: number }, readings = Infinity): Promise<void> {
  let register = 1000;
  for (let i = 0; i < readings; i++) {
    const s = pair.station.session;
    if (s.phase === 'settling' || (s.phase === 'idle' && pair.settled.station.length > 0)) return;
    if (s.phase !== 'charging' || s.stopReason) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    clock.t += 10_000;
    if (s.startRegisterWh < 0) {
      // The first reading of a session only sets its start register.
      await pair.station.meterReading({ registerWh: register, timestamp: clock.t, source: 'test' }).catch(() => undefined);
      i--;
      continue;
    }
    register = Math.max(register, s.lastRegisterWh) + 10;
    await pair.station.meterReading({ registerWh: register, timestamp: clock.t, source: 'test' }).catch(() => undefined);
    const deadline = Date.now() + 3000;
    await until(() => Date.now() > deadline || pair.station.session.paidIncrements >= pair.station.session.claimedIncrements);
  }
}
