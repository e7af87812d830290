import fs from 'node:fs';
import path from 'node:path';
import type { SessionSnapshot } from '../../nodes/core/session';
import { SessionJournal } from '../../nodes/core/session';
import { FAILPOINT_ENV, Failpoint } from '../support/failpoint';
import type { FlowNode } from '../support/nodered';
import { MODULE, NodeRed, OUTPUT_DIR } from '../support/real-nodered';
import { recordsIn } from './flows';

/**
 * The bench of the fault-injection test: a station and a vehicle, each its own Node-RED process with the package
 * installed from its tarball, talking through mosquitto, on one IRI-compatible Tangle; each process is killed
 * with SIGKILL at protocol steps and started again on the same user directory, as a power cut and a reboot would.
 */

export type Side = 'station' | 'vehicle';

export const STATION_ID = 'station-1';
export const VEHICLE_ID = 'vehicle-1';
const PREFIX = `m2m-ev/v1/${STATION_ID}`;

/** The terms: one token per 10 Wh increment, a credit of one increment, deposits of 20 tokens each. */
export const TERMS = { pricePerKWh: 100, incrementWh: 10, creditWh: 10, deposit: 20 };

export interface FaultBench {
  brokerPort: number;
  tangleUrl: string;
  /** The vehicle stops here, Wh. */
  targetWh: number;
  /** Each side's events (all three stage nodes' second outputs) are appended here, one JSON line each. */
  eventsFile: (side: Side) => string;
}

/** The side's pipeline, as the example flows wire it: core MQTT nodes, the three stage nodes, one party. */
export function faultFlow(side: Side, bench: FaultBench, seed: string): FlowNode[] {
  const z = `${side}-tab`;
  const id = (name: string) => `${side}-${name}`;
  const party = id('party');
  const common: FlowNode[] = [
    { id: z, type: 'tab', label: side },
    { id: id('broker'), type: 'mqtt-broker', name: '', broker: '127.0.0.1', port: String(bench.brokerPort), clientid: '', protocolVersion: '4', keepalive: '15', cleansession: true },
    { id: id('tangle'), type: 'iota-tangle', name: '', mode: 'remote', dataDir: '', url: bench.tangleUrl, mwm: '5', depth: '3', milestoneInterval: '0', dev: true, localPow: false, powWorkers: '1' },
    { id: id('wallet'), type: 'iota-wallet', name: '', tangle: id('tangle'), security: '1', dataDir: '', devFunding: '0', credentials: { seed } },
    { id: id('open'), z, type: 'flash-channel-open', name: '', party, wires: [[id('out')], [id('events')]] },
    { id: id('pay'), z, type: 'pay-increment', name: '', party, wires: [[id('out')], [id('events')]] },
    { id: id('settle'), z, type: 'channel-settle', name: '', party, wires: [[id('out')], [id('events')]] },
    { id: id('out'), z, type: 'mqtt out', name: '', topic: '', qos: '', retain: '', broker: id('broker'), wires: [] },
    // Every event, as one JSON line: the test reads what each side reported, across all its restarts.
    { id: id('events'), z, type: 'function', name: '', func: 'return { payload: { event: msg.topic, payload: msg.payload } };', outputs: 1, wires: [[id('record')]] },
    { id: id('record'), z, type: 'file', name: '', filename: bench.eventsFile(side), filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', wires: [[]] },
  ];
  // One wildcard mqtt in per side feeds its three stage nodes, as in the example flows (docs/PROTOCOL.md).
  const mqttIn = (topic: string): FlowNode => ({
    id: id('in'), z, type: 'mqtt in', name: '', broker: id('broker'), topic: `${PREFIX}/${topic}`, qos: '0', datatype: 'utf8', nl: false, rap: true, rh: 0, inputs: 0, wires: [[id('open'), id('pay'), id('settle')]],
  });
  const terms = { prefix: 'm2m-ev/v1', dataDir: '', maxPowerW: '22080', maxDepth: '4', peerTimeout: '20' };
  if (side === 'station') {
    return [
      ...common,
      {
        id: party, type: 'charging-party', name: '', role: 'station', partyId: STATION_ID, stationId: STATION_ID, wallet: id('wallet'), ...terms,
        pricePerKWh: String(TERMS.pricePerKWh), incrementWh: String(TERMS.incrementWh), creditWh: String(TERMS.creditWh), stationDeposit: String(TERMS.deposit),
      },
      // The simulated charger (22 kW) and the meter that follows it: a paused charger delivers nothing.
      { id: id('evse'), z, type: 'evse-control', name: '', party, driver: 'simulated', maxCurrentA: '32', volts: '230', phases: '3', autoPlug: true, vehicleTargetWh: '0', baseTopic: '', watchdog: '30', wires: [[], []] },
      { id: id('meter'), z, type: 'meter-in', name: '', source: 'simulated', interval: '0.3', party, unit: 'Wh', wires: [[id('pay')]] },
      mqttIn('+/station'),
    ];
  }
  return [
    ...common,
    {
      id: party, type: 'charging-party', name: '', role: 'vehicle', partyId: VEHICLE_ID, stationId: STATION_ID, wallet: id('wallet'), ...terms,
      maxPricePerKWh: '200', deposit: String(TERMS.deposit), maxStationDeposit: String(TERMS.deposit), targetWh: String(bench.targetWh), meterToleranceWh: '0',
      // One session only: the test starts it (the inject below), so the books cover exactly that session.
      autoStart: false,
    },
    { id: id('start'), z, type: 'inject', name: 'start', props: [{ p: 'payload' }], repeat: '', crontab: '', once: false, topic: '', payload: 'start', payloadType: 'str', wires: [[id('open')]] },
    mqttIn('#'),
  ];
}

/** A side's journal, as the test reads it from outside (null: no session yet). */
export async function journalOf(userDir: string, side: Side): Promise<SessionSnapshot | null> {
  const journal = new SessionJournal<SessionSnapshot>(path.join(userDir, 'm2m-ev', 'sessions', `${side}-${side === 'station' ? STATION_ID : VEHICLE_ID}.json`));
  try {
    return await journal.load();
  } finally {
    await journal.close();
  }
}

/** The side's events so far, from all its processes. */
export function eventsIn(file: string): { event: string; payload: Record<string, unknown> }[] {
  return recordsIn(file) as { event: string; payload: Record<string, unknown> }[];
}

/**
 * One side's Node-RED process, killed at each of its failpoints in turn and started again at once on the same
 * user directory. A process that dies any other way fails the test.
 */
export class Supervised {
  current!: NodeRed;
  /** The steps at which a process of this side died, in order. */
  readonly fired: string[] = [];
  /** The output of the processes that died. */
  readonly deadLogs: string[] = [];
  failure: Error | null = null;
  private stopping = false;
  private readonly steps: string[];
  private readonly failpointLog: string;

  constructor(
    readonly side: Side,
    private readonly install: string,
    readonly userDir: string,
    steps: string[],
  ) {
    this.steps = [...steps];
    this.failpointLog = path.join(userDir, 'failpoints.log');
  }

  /** Starts the first process; `deploy` gives it its flow (later processes find it in the user directory). */
  async start(flow: FlowNode[]): Promise<void> {
    this.current = await NodeRed.start(this.side, this.install, this.options());
    await this.current.deploy(flow);
    void this.watch().catch((err: Error) => (this.failure = err));
  }

  private options() {
    const partyModule = fs.realpathSync(path.join(this.install, 'node_modules', MODULE, 'dist/nodes/core/session/party.js'));
    const env = this.steps.length > 0 ? { [FAILPOINT_ENV]: JSON.stringify({ partyModule, step: this.steps[0], log: this.failpointLog } satisfies Failpoint) } : {};
    return { userDir: this.userDir, preload: require.resolve('../support/failpoint'), env, mayDie: true };
  }

  private async watch(): Promise<void> {
    for (;;) {
      const signal = await this.current.exited();
      if (this.stopping) return;
      const log = this.current.log;
      this.deadLogs.push(log);
      const fired = fs.existsSync(this.failpointLog) ? fs.readFileSync(this.failpointLog, 'utf8').trim().split('\n') : [];
      if (signal !== 'SIGKILL' || fired.length !== this.fired.length + 1) {
        throw new Error(`the ${this.side} process ended (${signal}) without reaching its failpoint "${this.steps[0]}":\n${log.slice(-4000)}`);
      }
      this.fired.push(fired.at(-1)!);
      this.steps.shift();
      this.current = await NodeRed.start(this.side, this.install, this.options());
    }
  }

  /** The steps not reached yet. */
  get remaining(): readonly string[] {
    return this.steps;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.current?.stop();
  }

  /** Writes the output of every process of this side, in order, to test-output/ for a human to read. */
  saveLog(): void {
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    const logs = [...this.deadLogs, this.current?.log ?? ''];
    fs.writeFileSync(path.join(OUTPUT_DIR, `node-red-fault-${this.side}.log`), logs.map((log, i) => `===== process ${i + 1} =====\n${log}`).join('\n'));
  }
}
