import assert from 'node:assert/strict';
import path from 'node:path';
import type { ChargeDetailRecord } from '../../nodes/core/records';
import type { SessionRecord } from '../../nodes/core/session';
import type { FlowNode } from '../support/nodered';
import { freePort, installedPackage, Mosquitto, NodeRed, tempDir } from '../support/real-nodered';
import { example, fakeW1Bus, forTestBench, recordsIn, STATION_EXAMPLE, TestBench, VEHICLE_EXAMPLE } from './flows';
import { until } from '../support/wait';

/** The DS18B20 at room temperature: below the 25 °C baseline, so no energy flows. */
const ROOM_C = 21;
/** 10 °C above the baseline: 10 kW by the meter's rule (1000 W per °C), just under the default 11 kW limit. */
const CHARGING_C = 35;

interface Balance {
  total: number;
}

describe('e2e: the station and vehicle examples in two Node-RED processes, through mosquitto', function () {
  let broker: Mosquitto | undefined;
  const processes: NodeRed[] = [];

  after(async function () {
    for (const nodeRed of processes) nodeRed.saveLog();
    await Promise.all(processes.map((p) => p.stop()));
    await broker?.stop();
  });

  it('complete a charging session metered by the DS18B20, settle on the Tangle, and the books balance', async function () {
    this.timeout(300_000);
    const install = await installedPackage();
    broker = await Mosquitto.start();
    const started = await Promise.allSettled([NodeRed.start('station', install), NodeRed.start('vehicle', install)]);
    for (const result of started) if (result.status === 'fulfilled') processes.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    const [station, vehicle] = processes;

    const bus = fakeW1Bus(tempDir('m2m-e2e-w1-'), ROOM_C);
    const records = tempDir('m2m-e2e-records-');
    const bench: Omit<TestBench, 'recordsFile'> = { brokerPort: broker.port, tanglePort: await freePort(), w1Directory: bus.w1Directory };
    const stationFlow = forTestBench(example(STATION_EXAMPLE), { ...bench, recordsFile: path.join(records, 'station.jsonl') });
    const vehicleFlow = forTestBench(example(VEHICLE_EXAMPLE), { ...bench, recordsFile: path.join(records, 'vehicle.jsonl') });
    // The station first: it serves the Tangle the vehicle's wallet uses.
    await station.deploy(stationFlow);
    await station.waitForLog(/Tangle ready \(serve\)/);
    await vehicle.deploy(vehicleFlow);
    const walletOf = (flow: FlowNode[]) => flow.find((n) => n.type === 'iota-wallet')!;
    const funding = (flow: FlowNode[]) => Number(walletOf(flow).devFunding);
    const balanceOf = (nodeRed: NodeRed, flow: FlowNode[]) => nodeRed.json<Balance>(`/m2m-ev/iota-wallet/${walletOf(flow).id}/balance`);

    // Warm the sensor, as a finger on the prototype's DS18B20 does: the meter reads power, the station claims it.
    bus.setTemperature(CHARGING_C);

    await until(() => {
      for (const nodeRed of processes) assert.doesNotMatch(nodeRed.log, /\[error\]/, `${nodeRed.name} logged an error:\n${nodeRed.log.slice(-4000)}`);
      return recordsIn(path.join(records, 'station.jsonl')).length > 0 && recordsIn(path.join(records, 'vehicle.jsonl')).length > 0;
    }, 'both sides to settle', 240_000);
    bus.setTemperature(ROOM_C);

    const [atStation] = recordsIn(path.join(records, 'station.jsonl')) as unknown as SessionRecord[];
    const [atVehicle] = recordsIn(path.join(records, 'vehicle.jsonl')) as unknown as SessionRecord[];
    assert.equal(atStation.session_id, atVehicle.session_id, 'one session, seen from both sides');
    assert.equal(atStation.station_id, 'station-1');
    assert.equal(atStation.remark, 'target-reached', 'the vehicle stopped at its 30 Wh target');
    assert.ok(atStation.energy_wh >= 30, `at least the target, got ${atStation.energy_wh} Wh`);
    assert.equal(atStation.energy_wh, atStation.increments * atStation.tariff.increment_wh);
    assert.equal(atStation.meter_stop_wh - atStation.meter_start_wh, atStation.energy_wh, 'the energy is what the DS18B20 meter counted');

    // The books: price × energy, the same on both sides, in the channel and in the wallets.
    const cost = (atStation.tariff.price_per_kwh * atStation.energy_wh) / 1000;
    assert.ok(Number.isSafeInteger(cost) && cost > 0, `a whole, positive number of tokens: ${cost}`);
    assert.equal(atStation.total_cost.excl_vat, cost);
    assert.equal(atVehicle.total_cost.excl_vat, cost);
    assert.equal(atVehicle.energy_wh, atStation.energy_wh);
    const { deposits } = atStation.channel;
    assert.deepEqual(atStation.channel.final_balances, { vehicle: deposits.vehicle - cost, station: deposits.station + cost });
    assert.deepEqual(atVehicle.channel.final_balances, atStation.channel.final_balances);
    assert.equal((await balanceOf(station, stationFlow)).total, funding(stationFlow) + cost, 'the station received price × energy');
    assert.equal((await balanceOf(vehicle, vehicleFlow)).total, funding(vehicleFlow) - cost, 'the vehicle paid price × energy');

    // The example's session-records node kept the same session, and its export says so over HTTP.
    const exported = await station.json<ChargeDetailRecord[]>('/m2m-ev/records/sessions.json');
    assert.deepEqual(exported.map((r) => [r.session_id, r.status, r.energy_wh, r.total_cost.excl_vat, r.cdr_token.uid]), [[atStation.session_id, 'settled', atStation.energy_wh, cost, 'vehicle-1']]);
    const csv = await (await station.request('GET', '/m2m-ev/records/sessions.csv')).text();
    assert.equal(csv.split('\r\n').length, 3, `a header and one session:\n${csv}`);
  });
});
