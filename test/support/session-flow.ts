import assert from 'node:assert/strict';
import type { Node } from 'node-red';
import type { StationParty, VehicleParty } from '../../nodes/core/session';
import type { IotaWalletNode } from '../../nodes/types';
import { startBroker, TestBroker } from './broker';
import { coreMqttNodes, FlowNode, helper, startedParty } from './nodered';
import { until } from './wait';
import iotaTangle = require('../../nodes/iota-tangle');
import iotaWallet = require('../../nodes/iota-wallet');
import chargingParty = require('../../nodes/charging-party');
import flashChannelOpen = require('../../nodes/flash-channel-open');
import payIncrement = require('../../nodes/pay-increment');
import channelSettle = require('../../nodes/channel-settle');
import meterIn = require('../../nodes/meter-in');
import evseControl = require('../../nodes/evse-control');
import { tempDir } from './temp';

/** A station and a vehicle in one Node-RED runtime, wired as the example flows wire them. */
export const NODES = [coreMqttNodes, iotaTangle, iotaWallet, chargingParty, flashChannelOpen, payIncrement, channelSettle, meterIn, evseControl];
export const PREFIX = 'm2m-ev/v1/ST1';
/** The one subscription of each device (docs/PROTOCOL.md): the station's three topics, and all of the vehicle's. */
export const STATION_TOPICS = `${PREFIX}/+/station`;
export const VEHICLE_TOPICS = `${PREFIX}/#`;

/** Both pipelines in one runtime, talking only through the core MQTT nodes and the broker. */
export interface SessionFlowOptions {
  vehicle?: Record<string, unknown>;
  station?: Record<string, unknown>;
  /** Adds the station's simulated EVSE and meter, as in the paper's station pipeline (22 kW, credit gate on). */
  stationPipeline?: boolean;
}

export function sessionFlow(brokerPort: number, overrides: SessionFlowOptions = {}): FlowNode[] {
  // Fresh journals for every flow: a session left open by an earlier test must not be resumed here.
  const dataDir = tempDir('m2m-sessions-');
  const pipeline: FlowNode[] = overrides.stationPipeline
    ? [
        { id: 'evse-s', z: 'tab', type: 'evse-control', party: 'party-s', driver: 'simulated', maxCurrentA: '32', volts: '230', phases: '3', autoPlug: true, vehicleTargetWh: '0', watchdog: '30', wires: [['evse-status'], []] },
        { id: 'evse-status', z: 'tab', type: 'helper' },
        { id: 'meter-s', z: 'tab', type: 'meter-in', source: 'simulated', party: 'party-s', interval: '0.3', wires: [['pay-s']] },
      ]
    : [];
  const mqttIn = (id: string, topic: string, wires: string[]) => ({ id, z: 'tab', type: 'mqtt in', broker: 'broker', topic, qos: '0', datatype: 'utf8', wires: [wires] });
  return [
    { id: 'tab', type: 'tab' },
    { id: 'broker', type: 'mqtt-broker', broker: '127.0.0.1', port: String(brokerPort), clientid: '', protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'tangle', type: 'iota-tangle', mode: 'embedded', dataDir: '', mwm: '5', depth: '3', milestoneInterval: '0', dev: true, powWorkers: '1' },
    { id: 'wallet-s', type: 'iota-wallet', tangle: 'tangle', security: '1', devFunding: '100' },
    { id: 'wallet-v', type: 'iota-wallet', tangle: 'tangle', security: '1', devFunding: '100' },
    {
      id: 'party-s', type: 'charging-party', role: 'station', partyId: 'ST1', wallet: 'wallet-s', prefix: 'm2m-ev/v1', dataDir,
      pricePerKWh: '100', incrementWh: '10', maxPowerW: '100000', creditWh: '10', stationDeposit: '40', maxDepth: '8',
      ...overrides.station,
    },
    {
      id: 'party-v', type: 'charging-party', role: 'vehicle', partyId: 'EV1', stationId: 'ST1', wallet: 'wallet-v', prefix: 'm2m-ev/v1', dataDir,
      maxPricePerKWh: '200', deposit: '40', maxStationDeposit: '100', targetWh: '60', maxPowerW: '100000', maxDepth: '8', autoStart: true,
      ...overrides.vehicle,
    },
    // station
    // One mqtt in per device, with a wildcard, feeds all three stage nodes; each takes what is addressed to it.
    mqttIn('in-s', STATION_TOPICS, ['open-s', 'pay-s', 'settle-s']),
    { id: 'open-s', z: 'tab', type: 'flash-channel-open', party: 'party-s', wires: [['out-s'], ['events-s']] },
    { id: 'pay-s', z: 'tab', type: 'pay-increment', party: 'party-s', wires: [['out-s'], ['events-s']] },
    { id: 'settle-s', z: 'tab', type: 'channel-settle', party: 'party-s', wires: [['out-s'], ['events-s']] },
    { id: 'out-s', z: 'tab', type: 'mqtt out', broker: 'broker', topic: '', qos: '', retain: '' },
    { id: 'events-s', z: 'tab', type: 'helper' },
    // vehicle
    mqttIn('in-v', VEHICLE_TOPICS, ['open-v', 'pay-v', 'settle-v']),
    { id: 'open-v', z: 'tab', type: 'flash-channel-open', party: 'party-v', wires: [['out-v'], ['events-v']] },
    { id: 'pay-v', z: 'tab', type: 'pay-increment', party: 'party-v', wires: [['out-v'], ['events-v']] },
    { id: 'settle-v', z: 'tab', type: 'channel-settle', party: 'party-v', wires: [['out-v'], ['events-v']] },
    { id: 'out-v', z: 'tab', type: 'mqtt out', broker: 'broker', topic: '', qos: '', retain: '' },
    { id: 'events-v', z: 'tab', type: 'helper' },
    ...pipeline,
  ];
}

export interface EventMsg {
  topic: string;
  /** The connector an event or status is for, on a station with several. */
  connector?: string;
  /** The id of the party whose event or status it is. */
  party?: string;
  payload: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export function collect(id: string): EventMsg[] {
  const seen: EventMsg[] = [];
  (helper.getNode(id) as unknown as NodeJS.EventEmitter).on('input', (msg: EventMsg) => seen.push(msg));
  return seen;
}

/** The errors our nodes reported (the helper spies on Node.prototype, so calls are told apart by node id). */
export function errorsOf(ids: string[]): string[] {
  const spy = (helper.getNode(ids[0]) as unknown as { error: { getCalls(): { thisValue: Node; args: unknown[] }[] } }).error;
  return spy
    .getCalls()
    .filter((call) => ids.includes(call.thisValue.id))
    .map((call) => `${call.thisValue.id}: ${String(call.args[0])}`);
}

/**
 * The vehicle settings for a test that reads the wallets' books: it opens no session by itself, so that no next
 * session's deposits are under way when the books are read (a vehicle that starts its sessions by itself opens the
 * next one as soon as the station offers again). `startOneSession` opens the one session.
 */
export const ONE_SESSION = { autoStart: false };

/** Opens the vehicle's session by hand (a flow with ONE_SESSION), once the station's offer has reached it. */
export async function startOneSession(vehicleEvents: EventMsg[]): Promise<void> {
  await until(() => vehicleEvents.some((m) => m.topic === 'offer'), "the station's offer to reach the vehicle");
  helper.getNode('open-v').receive({ payload: 'start' } as never);
}

/**
 * The books after the one session of a flow with ONE_SESSION: each wallet (100 tokens before) moved by exactly
 * `cost`, the channel empty.
 */
export async function assertWalletBooks(cost: number, depositAddress: string): Promise<void> {
  const walletS = await (helper.getNode('wallet-s') as IotaWalletNode).wallet;
  const walletV = await (helper.getNode('wallet-v') as IotaWalletNode).wallet;
  assert.equal((await walletS.balance()).total, 100 + cost, 'the station received exactly what the vehicle paid');
  assert.equal((await walletV.balance()).total, 100 - cost, 'the vehicle paid exactly price × energy');
  const { balances } = await walletS.api.getBalances([depositAddress]);
  assert.equal(Number(balances[0]), 0, 'nothing stays locked in the channel');
}

/**
 * A broker and the test-helper runtime for the `describe` block it is called in: started before its tests, stopped
 * after them. A test may replace `broker` (a restart on the same port); the current one is closed.
 */
export function brokerAndRuntime(): { broker: TestBroker } {
  const context = {} as { broker: TestBroker };
  before(async () => {
    context.broker = await startBroker();
    await helper.startServer();
  });
  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await context.broker.close();
  });
  return context;
}

/**
 * The station's meter, read as fast as energy can flow: hands `registerWh` to the station's `pay-increment` once
 * the vehicle would take a claim up to it (the session's meter started at `startWh`). The vehicle refuses a claim of
 * more energy than the agreed power could have delivered since the channel opened, so that is what the time
 * between a real meter's readings stands for; the test waits for it instead of sleeping. Once the vehicle has
 * stopped, the reading waits until the station has heard the stop (it claims nothing more then).
 */
export async function readStationMeter(registerWh: number, startWh: number): Promise<void> {
  const station = await startedParty<StationParty>('party-s');
  const vehicle = await startedParty<VehicleParty>('party-v');
  const mayRead = () => {
    if (vehicle.phase === 'charging') return registerWh - startWh <= vehicle.plausibleWh();
    if (vehicle.phase === 'opening' || vehicle.phase === 'funding') return false;
    return station.phase !== 'charging' || station.session.stopReason !== null;
  };
  await until(mayRead, `the vehicle to take ${registerWh - startWh} Wh`);
  helper.getNode('pay-s').receive({ payload: { registerWh, timestamp: Date.now(), source: 'test' } } as never);
  // Lets the runtime deliver what the reading caused before the caller looks at the events.
  await new Promise((resolve) => setImmediate(resolve));
}
