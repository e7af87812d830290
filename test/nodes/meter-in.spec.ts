import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Node, NodeMessage } from 'node-red';
import { SimulatedEvse } from '../../nodes/core/evse';
import type { MeterReading } from '../../nodes/core/meter';
import type { ChargingPartyNode } from '../../nodes/types';
import { callsOf, FlowNode, helper, loadFlow, statusText, testUserDir } from '../support/nodered';
import { stationNodes, stubWalletNode } from '../support/station';
import { until, valueOf } from '../support/wait';

import chargingParty = require('../../nodes/charging-party');
import meterIn = require('../../nodes/meter-in');
import { tempDir } from '../support/temp';

const SENSOR = '28-000000000001';

/** The two lines of the kernel's w1_therm file: scratchpad and CRC verdict, then the temperature in m°C. */
function w1Slave(milliC: number, verdict = 'YES'): string {
  return `72 01 4b 46 7f ff 0e 10 57 : crc=57 ${verdict}\n72 01 4b 46 7f ff 0e 10 57 t=${milliC}\n`;
}

/** Collects what a `helper` node receives. */
function received(id: string): NodeMessage[] {
  const messages: NodeMessage[] = [];
  helper.getNode(id).on('input', (msg: NodeMessage) => messages.push(msg));
  return messages;
}

const readingOf = (msg: NodeMessage) => msg.payload as MeterReading;

describe('nodes: meter-in', function () {
  let bus: string;
  let sensorFile: string;

  before(() => helper.startServer());
  after(() => helper.stopServer());
  beforeEach(() => {
    bus = path.join(tempDir('m2m-w1-'), 'w1_bus_master1');
    fs.mkdirSync(path.join(bus, SENSOR), { recursive: true });
    fs.writeFileSync(path.join(bus, 'w1_master_slaves'), `${SENSOR}\n`);
    sensorFile = path.join(bus, SENSOR, 'w1_slave');
    fs.writeFileSync(sensorFile, w1Slave(30000));
  });
  afterEach(() => helper.unload());

  /** A DS18B20 meter polled every 20 ms whose power is capped at 11 kW from 25 °C on: about 0.06 Wh per poll. */
  function ds18b20Flow(id: string): FlowNode[] {
    return [
      { id: 'f1', type: 'tab' },
      { id, z: 'f1', type: 'meter-in', source: 'ds18b20', w1Directory: bus, sensorId: '', wattsPerDegree: '1000000', baselineC: '25', interval: '0.02', wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
  }

  it('reads the DS18B20 on a fake 1-Wire bus into a growing register, with the temperature', async function () {
    await loadFlow([meterIn], ds18b20Flow('ds-read'));
    const out = received('out');
    const last = await valueOf(() => out.find((msg) => readingOf(msg).registerWh >= 1), 'a reading of 1 Wh or more');
    assert.equal(last.topic, 'meter');
    assert.equal(readingOf(last).source, `ds18b20:${SENSOR}`);
    assert.equal(readingOf(last).temperatureC, 30);
    const registers = out.map((msg) => readingOf(msg).registerWh);
    assert.deepEqual(registers, [...registers].sort((a, b) => a - b), 'the register never goes down');
    assert.equal(statusText(helper.getNode('ds-read')), 'meter-in.status.reading');
  });

  it('reports a CRC error once with a red status, answers an input read with the reason, and reads again once the sensor recovers', async function () {
    await loadFlow([meterIn], ds18b20Flow('ds-crc'));
    const node = helper.getNode('ds-crc');
    const out = received('out');
    const caught = received('caught');
    await valueOf(() => out[1], 'a second reading');
    fs.writeFileSync(sensorFile, w1Slave(31000, 'NO'));
    const failed = () => callsOf(node, 'status').filter(([s]) => (s as { text?: string }).text === 'meter-in.status.failed');
    await until(() => failed().length >= 3, 'three failed reads');
    const errors = callsOf(node, 'error').filter(([text]) => text === 'meter-in.errors.read');
    assert.equal(errors.length, 1, 'a sensor that stays broken is logged once, not on every poll');
    assert.deepEqual((failed()[0][0] as { fill: string }).fill, 'red');

    node.receive({ payload: 'read now' });
    const error = await valueOf(() => caught[0], 'an error');
    assert.match((error as NodeMessage & { error: { message: string } }).error.message, /CRC/);

    const before = out.length;
    fs.writeFileSync(sensorFile, w1Slave(31000));
    const recovered = await valueOf(() => out[before], 'the next reading');
    assert.equal(readingOf(recovered).temperatureC, 31);
    assert.ok(readingOf(recovered).registerWh >= readingOf(out[before - 1]).registerWh);
    assert.equal(statusText(node), 'meter-in.status.reading');
  });

  it('keeps the DS18B20 register across a redeploy', async function () {
    await loadFlow([meterIn], ds18b20Flow('ds-persist'));
    let out = received('out');
    await valueOf(() => out.find((msg) => readingOf(msg).registerWh >= 2), 'a reading of 2 Wh or more');
    await helper.unload();
    const lastSent = readingOf(out[out.length - 1]).registerWh;
    const saved = JSON.parse(fs.readFileSync(path.join(testUserDir, 'm2m-ev', 'meters', 'ds-persist.json'), 'utf8'));
    assert.ok(saved.registerWh >= lastSent, 'a register is saved before it is sent');

    await loadFlow([meterIn], ds18b20Flow('ds-persist'));
    out = received('out');
    const first = await valueOf(() => out[0], 'a first reading');
    assert.equal(readingOf(first).registerWh, saved.registerWh, 'the first reading after the restart goes on from the saved register');
  });

  it('turns input registers into readings and refuses a register that goes down or is not a number', async function () {
    await loadFlow(
      [meterIn],
      [
        { id: 'f1', type: 'tab' },
        { id: 'mm', z: 'f1', type: 'meter-in', source: 'msg', unit: 'kWh', wires: [['out']] },
        { id: 'out', z: 'f1', type: 'helper' },
        { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'f1', type: 'helper' },
      ],
    );
    const node = helper.getNode('mm');
    const out = received('out');
    const caught = received('caught');
    const later = Date.now() + 1000;
    node.receive({ payload: 1.005 });
    node.receive({ payload: { registerWh: '2.5', timestamp: later } });
    await valueOf(() => out[1], 'a second reading');
    assert.deepEqual(
      out.map((msg) => [msg.topic, readingOf(msg).registerWh, readingOf(msg).source]),
      [
        ['meter', 1005, 'msg'],
        ['meter', 2500, 'msg'],
      ],
    );
    assert.equal(readingOf(out[1]).timestamp, later);

    node.receive({ payload: 2.4 });
    node.receive({ payload: 'lots' });
    await valueOf(() => caught[1], 'a second error');
    const reasons = caught.map((msg) => (msg as NodeMessage & { error: { message: string } }).error.message);
    assert.match(reasons[0], /went down/);
    assert.match(reasons[1], /expected a number/);
    assert.equal(out.length, 2);
    assert.equal(statusText(node), 'meter-in.status.failed');
  });

  it('follows the simulated EVSE registered on its station, waiting until there is one', async function () {
    const flow = await stationNodes({ partyId: 'MS1' });
    await loadFlow(
      [stubWalletNode, chargingParty, meterIn],
      [...flow, { id: 'sim', type: 'meter-in', source: 'simulated', party: 'p1', interval: '0.02', wires: [['out']] }, { id: 'out', type: 'helper' }],
    );
    const node = helper.getNode('sim');
    const out = received('out');
    await until(() => statusText(node) === 'meter-in.status.waiting', 'the waiting status');
    assert.equal(out.length, 0);

    // 32 A on 3 phases at 230 V: 22 kW, about 6 Wh a second.
    const evse = new SimulatedEvse({ maxCurrentA: 32, phases: 3 });
    evse.plug();
    evse.enable();
    (helper.getNode('p1') as ChargingPartyNode).evses.set('MS1', evse);
    const reading = await valueOf(() => out.find((msg) => readingOf(msg).registerWh >= 1), 'a reading of 1 Wh or more');
    assert.equal(readingOf(reading).source, 'simulated');
    assert.ok(readingOf(reading).registerWh <= Math.floor(evse.deliveredWh()), 'it never counts more than the EVSE delivered');
    evse.close();
  });

  it('refuses a simulated meter without a station', async function () {
    await loadFlow([meterIn], [{ id: 'lonely', type: 'meter-in', source: 'simulated', party: '', interval: '1' }]);
    const node = helper.getNode('lonely') as Node;
    assert.deepEqual(callsOf(node, 'error')[0], ['meter-in.errors.no-party']);
    assert.equal(statusText(node), 'meter-in.status.failed');
  });
});
