import fs from 'node:fs';
import path from 'node:path';
import { generateSeed } from '../../nodes/core/wallet';
import type { FlowNode } from '../support/nodered';
import { readExample } from '../support/real-nodered';

/**
 * The example flows the end-to-end tests deploy, and the changes a user makes to run them on a test bench.
 *
 * The tests deploy the repository's own files from examples/. Until a file exists, a stand-in built here takes its
 * place: the same node ids and settings the example is specified with (a Raspberry Pi station serving its Tangle,
 * a vehicle reaching it as station.local), wired as test/support/session-flow.ts wires both parties.
 */

export const STATION_EXAMPLE = 'Station pipeline (Raspberry Pi).json';
export const VEHICLE_EXAMPLE = 'Vehicle pipeline (Raspberry Pi).json';
export const DASHBOARD_EXAMPLE = 'Dashboard demo.json';

const PREFIX = 'm2m-ev/v1/station-1';

function mqttIn(id: string, z: string, broker: string, topic: string, target: string): FlowNode {
  return { id, z, type: 'mqtt in', name: '', broker, topic, qos: '0', datatype: 'json', nl: false, rap: true, rh: 0, inputs: 0, wires: [[target]] };
}

function stages(z: string, party: string, broker: string, out: string, events: string, ids: [string, string, string]): FlowNode[] {
  const [open, pay, settle] = ids;
  return [
    { id: open, z, type: 'flash-channel-open', name: '', party, wires: [[out], [events]] },
    { id: pay, z, type: 'pay-increment', name: '', party, wires: [[out], [events]] },
    { id: settle, z, type: 'channel-settle', name: '', party, wires: [[out], [events]] },
    { id: out, z, type: 'mqtt out', name: '', topic: '', qos: '', retain: '', broker, wires: [] },
    { id: events, z, type: 'debug', name: 'session events', active: true, tosidebar: true, console: true, complete: 'topic', targetType: 'msg', wires: [] },
  ];
}

function stationStandIn(): FlowNode[] {
  const z = '5a7a0000000000a0';
  const broker = '5a7a000000000001';
  return [
    { id: z, type: 'tab', label: 'Station' },
    { id: broker, type: 'mqtt-broker', name: 'local broker', broker: 'localhost', port: '1883', clientid: '', protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: '5a7a000000000002', type: 'iota-tangle', name: '', mode: 'serve', dataDir: '', host: '0.0.0.0', port: '14265', url: '', mwm: '9', depth: '3', milestoneInterval: '0', dev: true, localPow: false, powWorkers: '1' },
    { id: '5a7a000000000005', type: 'iota-wallet', name: 'station wallet', tangle: '5a7a000000000002', security: '2', dataDir: '', devFunding: '1000' },
    {
      id: '5a7a000000000006', type: 'charging-party', name: '', role: 'station', partyId: 'station-1', stationId: 'station-1', wallet: '5a7a000000000005',
      prefix: 'm2m-ev/v1', dataDir: '', pricePerKWh: '100', incrementWh: '10', maxPowerW: '11000', creditWh: '10', stationDeposit: '100', maxDepth: '10',
    },
    { id: '5a7a000000000003', z, type: 'meter-in', name: '', source: 'ds18b20', interval: '1', w1Directory: '/sys/bus/w1/devices/w1_bus_master1', sensorId: '', wattsPerDegree: '1000', baselineC: '25', party: '', unit: 'Wh', wires: [['5a7a000000000012']] },
    { id: '5a7a000000000004', z, type: 'evse-control', name: '', party: '5a7a000000000006', driver: 'simulated', maxCurrentA: '16', volts: '230', phases: '1', autoPlug: true, vehicleTargetWh: '0', baseTopic: '', watchdog: '30', wires: [[], []] },
    mqttIn('5a7a000000000007', z, broker, `${PREFIX}/open/station`, '5a7a000000000011'),
    mqttIn('5a7a000000000008', z, broker, `${PREFIX}/pay/station`, '5a7a000000000012'),
    mqttIn('5a7a000000000009', z, broker, `${PREFIX}/settle/station`, '5a7a000000000013'),
    ...stages(z, '5a7a000000000006', broker, '5a7a000000000014', '5a7a000000000015', ['5a7a000000000011', '5a7a000000000012', '5a7a000000000013']),
  ];
}

function vehicleStandIn(): FlowNode[] {
  const z = '7e1c0000000000a0';
  const broker = '7e1c000000000001';
  return [
    { id: z, type: 'tab', label: 'Vehicle' },
    { id: broker, type: 'mqtt-broker', name: 'station broker', broker: 'station.local', port: '1883', clientid: '', protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: '7e1c000000000002', type: 'iota-tangle', name: '', mode: 'remote', dataDir: '', host: '127.0.0.1', port: '14265', url: 'http://station.local:14265', mwm: '9', depth: '3', milestoneInterval: '0', dev: true, localPow: false, powWorkers: '1' },
    { id: '7e1c000000000005', type: 'iota-wallet', name: 'vehicle wallet', tangle: '7e1c000000000002', security: '2', dataDir: '', devFunding: '1000' },
    {
      id: '7e1c000000000006', type: 'charging-party', name: '', role: 'vehicle', partyId: 'vehicle-1', stationId: 'station-1', wallet: '7e1c000000000005',
      prefix: 'm2m-ev/v1', dataDir: '', maxPowerW: '11000', maxDepth: '10', maxPricePerKWh: '200', deposit: '100', maxStationDeposit: '100', targetWh: '0', meterToleranceWh: '0', autoStart: true,
    },
    mqttIn('7e1c000000000007', z, broker, `${PREFIX}/offer`, '7e1c000000000011'),
    mqttIn('7e1c000000000008', z, broker, `${PREFIX}/open/vehicle`, '7e1c000000000011'),
    mqttIn('7e1c000000000009', z, broker, `${PREFIX}/pay/vehicle`, '7e1c000000000012'),
    mqttIn('7e1c00000000000a', z, broker, `${PREFIX}/settle/vehicle`, '7e1c000000000013'),
    ...stages(z, '7e1c000000000006', broker, '7e1c000000000014', '7e1c000000000015', ['7e1c000000000011', '7e1c000000000012', '7e1c000000000013']),
  ];
}

/** A DS18B20 meter drawn on a Dashboard 2.0 chart, at /dashboard. */
function dashboardStandIn(): FlowNode[] {
  const z = 'da5b0000000000a0';
  return [
    { id: z, type: 'tab', label: 'Dashboard' },
    { id: 'da5b000000000006', z, type: 'meter-in', name: '', source: 'ds18b20', interval: '0.5', w1Directory: '/sys/bus/w1/devices/w1_bus_master1', sensorId: '', wattsPerDegree: '1000', baselineC: '25', party: '', unit: 'Wh', wires: [['da5b000000000005']] },
    { id: 'da5b000000000001', type: 'ui-base', name: 'M2M EV', path: '/dashboard', includeClientData: true, acceptsClientConfig: ['ui-notification', 'ui-control'], showPathInSidebar: false, navigationStyle: 'default' },
    { id: 'da5b000000000002', type: 'ui-theme', name: 'Default', colors: { surface: '#ffffff', primary: '#0094CE', bgPage: '#eeeeee', groupBg: '#ffffff', groupOutline: '#cccccc' }, sizes: { pagePadding: '12px', groupGap: '12px', groupBorderRadius: '4px', widgetGap: '12px' } },
    { id: 'da5b000000000003', type: 'ui-page', name: 'Charging', ui: 'da5b000000000001', path: '/charging', icon: 'ev-station', layout: 'grid', theme: 'da5b000000000002', order: 1, className: '', visible: 'true', disabled: 'false' },
    { id: 'da5b000000000004', type: 'ui-group', name: 'Meter', page: 'da5b000000000003', width: '6', height: '1', order: 1, showTitle: true, className: '', visible: 'true', disabled: 'false', groupType: 'default' },
    {
      id: 'da5b000000000005', z, type: 'ui-chart', group: 'da5b000000000004', name: '', label: 'Meter register (Wh)', order: 1, chartType: 'line', category: 'meter', categoryType: 'str',
      xAxisType: 'time', xAxisProperty: '', xAxisPropertyType: 'timestamp', yAxisProperty: 'payload.registerWh', yAxisPropertyType: 'msg', action: 'append',
      removeOlder: 1, removeOlderUnit: '3600', removeOlderPoints: '', width: 6, height: 8, showLegend: true, wires: [[]],
    },
  ];
}

const STAND_INS: Record<string, () => FlowNode[]> = {
  [STATION_EXAMPLE]: stationStandIn,
  [VEHICLE_EXAMPLE]: vehicleStandIn,
  [DASHBOARD_EXAMPLE]: dashboardStandIn,
};

/** The example from examples/, or its stand-in while the file does not exist yet. */
export function example(file: string): { flow: FlowNode[]; real: boolean } {
  const real = readExample(file) as FlowNode[] | undefined;
  if (real) return { flow: real, real: true };
  // Lay the stand-in's nodes out in rows of four, so that the editor shows them side by side.
  let placed = 0;
  const flow = STAND_INS[file]().map((n) => (n.z ? { ...n, x: 160 + 240 * (placed % 4), y: 60 + 80 * Math.floor(placed++ / 4) } : n));
  return { flow, real: false };
}

export interface TestBench {
  /** mosquitto's port on 127.0.0.1. */
  brokerPort: number;
  /** The port the station serves its Tangle on, on 127.0.0.1. */
  tanglePort: number;
  /** The fake 1-Wire bus directory. */
  w1Directory: string;
  /** Where every settled session record is appended, one JSON line each. */
  recordsFile: string;
}

/** Wallets without a development top-up get this many tokens, enough for the default deposits. */
const DEV_FUNDING = 1000;
/** A short session: the vehicle stops after 30 Wh (three 10 Wh increments at the default terms). */
const TARGET_WH = 30;

/**
 * What a user changes to run an example on a test bench: the broker and the Tangle on this machine, the sensor on
 * a fake bus, a short session, and a seed for each wallet (typed into the editor, so a credential). Adds a
 * `file` node that appends each settled session record (channel-settle's second output) to `recordsFile`.
 */
export function forTestBench(flow: FlowNode[], bench: TestBench): FlowNode[] {
  const adjusted = onATab(flow).map((original): FlowNode => {
    const node = { ...original };
    switch (node.type) {
      case 'mqtt-broker':
        return { ...node, broker: '127.0.0.1', port: String(bench.brokerPort) };
      case 'iota-tangle':
        if (node.mode === 'serve') return { ...node, host: '127.0.0.1', port: String(bench.tanglePort) };
        if (node.mode === 'remote') return { ...node, url: `http://127.0.0.1:${bench.tanglePort}` };
        return node;
      case 'meter-in':
        return node.source === 'ds18b20' ? { ...node, w1Directory: bench.w1Directory } : node;
      case 'iota-wallet':
        return { ...node, devFunding: Number(node.devFunding) > 0 ? node.devFunding : String(DEV_FUNDING), credentials: { seed: generateSeed() } };
      case 'charging-party':
        return node.role === 'vehicle' ? { ...node, targetWh: String(TARGET_WH) } : node;
      default:
        return node;
    }
  });
  const recorders: FlowNode[] = [];
  for (const settle of adjusted.filter((n) => n.type === 'channel-settle')) {
    const onlySettled = `${settle.id}-settled`;
    const file = `${settle.id}-record`;
    const wires = (settle.wires as string[][] | undefined) ?? [[], []];
    settle.wires = [wires[0] ?? [], [...(wires[1] ?? []), onlySettled]];
    recorders.push(
      { id: onlySettled, z: settle.z, type: 'switch', name: '', property: 'topic', propertyType: 'msg', rules: [{ t: 'eq', v: 'settled', vt: 'str' }], checkall: 'true', repair: false, outputs: 1, wires: [[file]] },
      { id: file, z: settle.z, type: 'file', name: '', filename: bench.recordsFile, filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', wires: [[]] },
    );
  }
  return [...adjusted, ...recorders];
}

/**
 * The flow as the editor's import leaves it: an example may come without a tab, and the editor puts its nodes on
 * the current one. A node placed on the canvas (it has x and y) belongs to a tab; config nodes do not.
 */
function onATab(flow: FlowNode[]): FlowNode[] {
  if (!flow.some((n) => n.z === undefined && typeof n.x === 'number' && typeof n.y === 'number')) return flow;
  const tab: FlowNode = { id: 'e2e00000000000a0', type: 'tab', label: 'Imported example' };
  return [tab, ...flow.map((n) => (n.z === undefined && typeof n.x === 'number' && typeof n.y === 'number' ? { ...n, z: tab.id } : n))];
}

/** A fake sysfs 1-Wire bus with one DS18B20; `setTemperature` changes what it reads. */
export function fakeW1Bus(root: string, celsius: number): { w1Directory: string; setTemperature(celsius: number): void } {
  const sensor = '28-00000e2e0001';
  const w1Directory = path.join(root, 'w1_bus_master1');
  fs.mkdirSync(path.join(w1Directory, sensor), { recursive: true });
  fs.writeFileSync(path.join(w1Directory, 'w1_master_slaves'), `${sensor}\n`);
  const setTemperature = (c: number) => {
    const milli = Math.round(c * 1000);
    // The kernel driver's format: the scratchpad with its CRC verdict, then the same bytes and t=<m°C>.
    const tmp = path.join(w1Directory, sensor, 'w1_slave.tmp');
    fs.writeFileSync(tmp, `72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=${milli}\n`);
    fs.renameSync(tmp, path.join(w1Directory, sensor, 'w1_slave'));
  };
  setTemperature(celsius);
  return { w1Directory, setTemperature };
}

/** The settled session records appended to a records file so far. */
export function recordsIn(file: string): Array<Record<string, unknown>> {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}
