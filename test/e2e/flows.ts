import fs from 'node:fs';
import path from 'node:path';
import { generateSeed } from '../../nodes/core/wallet';
import type { FlowNode } from '../support/nodered';
import { readExample } from '../support/real-nodered';

/**
 * The example flows the end-to-end tests deploy, and the changes a user makes to run them on a test bench.
 */

export const STATION_EXAMPLE = 'Station pipeline (Raspberry Pi).json';
export const VEHICLE_EXAMPLE = 'Vehicle pipeline (Raspberry Pi).json';
export const DASHBOARD_EXAMPLE = 'Dashboard demo.json';
export const CHARGING_SITE_EXAMPLE = 'Charging site.json';

/** An example flow of examples/, as the package ships it. */
export function example(file: string): FlowNode[] {
  return readExample(file) as FlowNode[];
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
