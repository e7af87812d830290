import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { newKeyPair } from '../nodes/core/protocol';
import { type PaymentEvent, SessionJournal, type SessionSnapshot, StationParty } from '../nodes/core/session';
import { generateSeed, Wallet } from '../nodes/core/wallet';
import fs from 'node:fs';
import { startBroker } from '../test/support/broker';
import { Mosquitto } from '../test/support/real-nodered';
import { devTangle, tempDir } from '../test/support/parties';
import { until } from '../test/support/wait';
import type { Figures } from './index';
import { MqttLink, PREFIX } from './mqtt-link';
import type { VehiclesMessage, VehiclesSettings } from './sessions-vehicles';
import { countFromEnv, memory, report, SAMPLES, timingOf } from './timing';

const SESSIONS = countFromEnv('BENCH_SESSIONS', 100);
/** How long every session is metered, one increment per second. */
const SECONDS = countFromEnv('BENCH_SECONDS', 30);
const INCREMENT_WH = 10;
/** The station's credit: one increment may be delivered unpaid. */
const CREDIT_WH = INCREMENT_WH;
const SECURITY = 2;
/**
 * The vehicle deposit pays every increment of the window (one token each), with room to spare; it is also the
 * old-state cap, so that every session keeps one channel for the whole window (the default cap, half the deposit,
 * would roll it over halfway).
 */
const DEPOSIT = SECONDS + 20;
/** How long to wait after the last reading for the payments still under way. */
const DRAIN_MS = 30_000;

/** One session's meter and what the station has been paid for, as the bench sees them. */
interface Meter {
  station: StationParty;
  registerWh: number;
  /** When each increment's reading went in, by increment number (1-based). */
  readAt: number[];
  paid: number;
  /** The most energy that was delivered and not yet paid, at any reading, Wh. */
  maxUnpaidWh: number;
}

/**
 * One station process holding many concurrent sessions: a StationParty per charge point, all on one event loop,
 * one MQTT connection; the broker is Mosquitto in its own process, as on a real site (the in-process broker when
 * Mosquitto is not installed, which then counts against the station); the vehicles run in a child process. Each session's meter
 * completes one increment per second (staggered across the second); an increment's latency runs from its reading
 * to the station's `paid` event for it (claim, proposal, co-signature, completion, journal).
 */
export async function run(): Promise<Figures> {
  console.log(`${SESSIONS} sessions, one increment (${INCREMENT_WH} Wh) per second each for ${SECONDS} s, credit ${CREDIT_WH} Wh, security ${SECURITY}`);
  if (SESSIONS * SECONDS < SAMPLES) console.log(`  note: ${SESSIONS * SECONDS} increments, fewer than ${SAMPLES} samples: raise BENCH_SECONDS`);
  const broker = await brokerOutsideWhenPossible();
  const tangle = await devTangle();
  const link = await MqttLink.connect(broker.port);
  const stations: StationParty[] = [];
  let vehicles: ChildProcess | null = null;
  try {
    const setupStart = Date.now();
    for (let i = 0; i < SESSIONS; i++) {
      const dir = tempDir();
      const wallet = new Wallet({ seed: generateSeed(), security: SECURITY, dataDir: path.join(dir, 'wallet'), tangle });
      await wallet.topUpFromFaucet(100);
      const station = new StationParty(
        { id: `ST${i}`, stationId: `ST${i}`, prefix: PREFIX, wallet, journal: new SessionJournal<SessionSnapshot>(path.join(dir, 'station.json')), pollMs: 200 },
        { pricePerKWh: 100, incrementWh: INCREMENT_WH, maxPowerW: 100_000, creditWh: CREDIT_WH, stationDeposit: 20, security: SECURITY, maxDepth: 8, maxAtRisk: DEPOSIT },
        newKeyPair(),
      );
      await link.add(station, `ST${i}`);
      await station.start();
      stations.push(station);
    }
    const settings: VehiclesSettings = { brokerPort: broker.port, tangleUrl: tangle.url, stationIds: stations.map((_, i) => `ST${i}`), security: SECURITY, deposit: DEPOSIT };
    const child = (vehicles = fork(path.join(__dirname, 'sessions-vehicles.js'), [JSON.stringify(settings)]));
    const fromVehicles: VehiclesMessage[] = [];
    child.on('message', (message: VehiclesMessage) => fromVehicles.push(message));
    const failed = () => fromVehicles.find((m) => m.type === 'failed');
    const phases = () => stations.map((s) => s.phase).join(' ');
    await until(() => stations.every((s) => s.phase === 'charging') || failed() !== undefined, 'every session to open and be funded', 20 * 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; the stations' phases: ${phases()}; MQTT errors: ${link.errors.join('; ') || 'nothing'}`);
    });
    if (failed()) throw new Error(`the vehicles failed: ${(failed() as { error: string }).error}`);
    console.log(`${SESSIONS} sessions open and funded after ${((Date.now() - setupStart) / 1000).toFixed(1)} s (not measured below); ${memory()}`);

    const meters: Meter[] = stations.map((station) => ({ station, registerWh: 1000, readAt: [], paid: 0, maxUnpaidWh: 0 }));
    const latencies: number[] = [];
    let payments = 0;
    for (const meter of meters) {
      meter.station.on('paid', (event: PaymentEvent) => {
        payments++;
        const now = performance.now();
        for (let k = meter.paid + 1; k <= event.increments; k++) latencies.push(now - meter.readAt[k - 1]);
        meter.paid = Math.max(meter.paid, event.increments);
      });
      // The first reading only sets the session's start register.
      await meter.station.meterReading({ registerWh: meter.registerWh, timestamp: Date.now(), source: 'bench' });
    }
    const meterErrors: string[] = [];
    const read = (meter: Meter) => {
      meter.registerWh += INCREMENT_WH;
      meter.readAt.push(performance.now());
      meter.maxUnpaidWh = Math.max(meter.maxUnpaidWh, (meter.readAt.length - meter.paid) * INCREMENT_WH);
      meter.station.meterReading({ registerWh: meter.registerWh, timestamp: Date.now(), source: 'bench' }).catch((err: Error) => meterErrors.push(err.message));
    };

    let peakRss = process.memoryUsage().rss;
    const rssSampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 1000);
    const cpuStart = process.cpuUsage();
    const vehiclesCpuStart = cpuSecondsOf(child.pid);
    const paymentsStart = payments;
    const wallStart = performance.now();
    const timers: NodeJS.Timeout[] = [];
    await new Promise<void>((resolve) => {
      meters.forEach((meter, i) => {
        // Sessions start at different moments of the second, as independent charge points would.
        const start = setTimeout(() => {
          read(meter);
          const every = setInterval(() => (meter.readAt.length < SECONDS ? read(meter) : clearInterval(every)), 1000);
          timers.push(every);
        }, (i * 1000) / SESSIONS);
        timers.push(start);
      });
      setTimeout(resolve, SECONDS * 1000 + 1000);
    });
    // Whatever is still unpaid after the drain is reported below, not thrown.
    await until(() => meters.every((m) => m.paid >= m.readAt.length), 'the last payments', DRAIN_MS).catch(() => undefined);
    // CPU over the readings and the payments they caused.
    const cpu = process.cpuUsage(cpuStart);
    const vehiclesCpu = cpuSecondsOf(child.pid) - vehiclesCpuStart;
    const wallMs = performance.now() - wallStart;
    const paid = payments - paymentsStart;
    timers.forEach(clearTimeout);
    clearInterval(rssSampler);

    const increment = timingOf(`increment latency, ${SESSIONS} concurrent sessions`, latencies);
    report([increment]);
    const readCount = meters.reduce((sum, m) => sum + m.readAt.length, 0);
    const behind = meters.filter((m) => m.maxUnpaidWh > CREDIT_WH);
    console.log(`increments read ${readCount}, paid ${latencies.length} (${readCount - latencies.length} unpaid ${DRAIN_MS / 1000} s after the last reading)`);
    console.log(
      `station process from the first reading to the last payment (${(wallMs / 1000).toFixed(1)} s): CPU ${(((cpu.user + cpu.system) / 1000 / wallMs) * 100).toFixed(0)}% of one core` +
        ` (user ${(cpu.user / 1e6).toFixed(1)} s, system ${(cpu.system / 1e6).toFixed(1)} s), peak rss ${(peakRss / 2 ** 20).toFixed(0)} MB; now ${memory()}`,
    );
    // What a payment costs each side, whatever else runs on the machine: the capacity of a core, in payments.
    const perPayment = (seconds: number) => `${((seconds * 1000) / Math.max(1, paid)).toFixed(1)} ms`;
    console.log(
      `${paid} payments (a late one pays every increment still unpaid): CPU per payment ${perPayment((cpu.user + cpu.system) / 1e6)} in the station process,` +
        ` ${Number.isNaN(vehiclesCpu) ? 'n/a' : perPayment(vehiclesCpu)} in the vehicles' process`,
    );
    console.log(
      behind.length === 0
        ? `no session fell behind its meter: unpaid energy never exceeded the ${CREDIT_WH} Wh credit`
        : `${behind.length} of ${SESSIONS} sessions fell behind their meter: unpaid energy reached up to ${Math.max(...behind.map((m) => m.maxUnpaidWh))} Wh against a ${CREDIT_WH} Wh credit`,
    );
    if (meterErrors.length > 0) console.log(`the stations refused ${meterErrors.length} meter reading(s), first: ${meterErrors[0]}`);
    if (link.errors.length > 0) console.log(`the stations' MQTT link: ${link.errors.length} message(s) refused or not sent, first: ${link.errors[0]}`);

    child.send({ type: 'stop' });
    await until(() => fromVehicles.some((m) => m.type === 'stopped') || child.exitCode !== null, 'the vehicles to stop', 30_000);
    const stopped = fromVehicles.find((m) => m.type === 'stopped');
    if (stopped && stopped.type === 'stopped' && stopped.errors.length > 0) {
      console.log(`the vehicles' MQTT link: ${stopped.errors.length} message(s) refused or not sent, first: ${stopped.errors[0]}`);
    }
    return { sessions: SESSIONS, p99_ms: increment.p99Ms };
  } finally {
    if (vehicles && vehicles.exitCode === null) vehicles.kill();
    for (const station of stations) station.close();
    await link.close();
    await tangle.close();
    await broker.close();
  }
}

/** Mosquitto when it is installed, so that relaying the messages does not count as the station's CPU. */
async function brokerOutsideWhenPossible(): Promise<{ port: number; close(): Promise<void> }> {
  if (fs.existsSync(MOSQUITTO)) {
    const mosquitto = await Mosquitto.start();
    console.log('broker: Mosquitto, in its own process');
    return { port: mosquitto.port, close: () => mosquitto.stop() };
  }
  console.log(`broker: in this process (${MOSQUITTO} is not installed), so the station's CPU below includes relaying every message`);
  return startBroker();
}

const MOSQUITTO = '/usr/sbin/mosquitto';

/** A child process's CPU time so far (user and system, all its threads), from Linux's /proc; NaN elsewhere. */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    // The fields after the command name, which is in parentheses and may hold spaces: utime and stime are 12 and 13.
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** Linux's USER_HZ, the unit of /proc's CPU times, 100 on every platform Node.js runs on. */
const CLOCK_TICKS = 100;
