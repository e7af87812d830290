import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Ds18b20Error, Ds18b20Meter, Ds18b20MeterOptions, powerFromTemperature } from '../../../nodes/core/meter/ds18b20';
import { FakeClock } from '../evse/fake-clock';
import { FifoWriter } from './fifo-writer';
import { tempDir } from '../../support/temp';

const HOUR = 3_600_000;
const SENSOR = '28-000000000001';
const OTHER_SENSOR = '28-000000000002';

/** The two lines the kernel's w1_therm driver prints: scratchpad + CRC verdict, then the temperature in m°C. */
function w1Slave(milliC: number, verdict = 'YES', crc = '57'): string {
  return `72 01 4b 46 7f ff 0e 10 ${crc} : crc=${crc} ${verdict}\n72 01 4b 46 7f ff 0e 10 ${crc} t=${milliC}\n`;
}

describe('core/meter DS18B20 meter (ds18b20-raspi in a worker)', () => {
  let root: string;
  let bus: string;
  const meters: Ds18b20Meter[] = [];

  /** A fake /sys/bus/w1/devices/w1_bus_master1 with the given sensors listed. */
  function addSensor(id: string, contents?: string): string {
    fs.mkdirSync(path.join(bus, id), { recursive: true });
    fs.appendFileSync(path.join(bus, 'w1_master_slaves'), `${id}\n`);
    const file = path.join(bus, id, 'w1_slave');
    if (contents === undefined) execFileSync('mkfifo', [file]);
    else fs.writeFileSync(file, contents);
    return file;
  }

  function meter(options: Ds18b20MeterOptions = {}): Ds18b20Meter {
    const created = new Ds18b20Meter({ w1Directory: bus, clock: new FakeClock(), ...options });
    meters.push(created);
    return created;
  }

  async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof Ds18b20Error, `expected a Ds18b20Error, got ${String(error)}`);
      assert.equal(error.code, code, error.message);
      return true;
    });
  }

  beforeEach(() => {
    root = tempDir('ds18b20-');
    bus = path.join(root, 'w1_bus_master1');
    fs.mkdirSync(bus);
    fs.writeFileSync(path.join(bus, 'w1_master_slaves'), '');
  });

  afterEach(async () => {
    await Promise.all(meters.splice(0).map((m) => m.close()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('reads the first listed sensor when no id is given, and the configured one otherwise', async () => {
    addSensor(SENSOR, w1Slave(23125));
    addSensor(OTHER_SENSOR, w1Slave(-125));
    const first = await meter({ sensorId: '' }).read();
    assert.equal(first.temperatureC, 23.125);
    assert.equal(first.source, `ds18b20:${SENSOR}`);
    assert.equal(first.registerWh, 0, 'the first reading only anchors the integration');
    const other = await meter({ sensorId: OTHER_SENSOR, source: 'station-1' }).read();
    assert.equal(other.temperatureC, -0.125);
    assert.equal(other.source, 'station-1');
  });

  it('integrates the documented power rule with the trapezoid rule into a monotonic register', async () => {
    const file = addSensor(SENSOR, w1Slave(30000));
    const clock = new FakeClock();
    const rule = { wattsPerDegree: 1000, baselineC: 25, maxPowerW: 20_000 };
    const m = meter({ clock, maxIntervalMs: HOUR, ...rule });
    await m.read();
    clock.advance(HOUR);
    assert.equal((await m.read()).registerWh, 5000, '5 °C above baseline is 5 kW, for one hour');
    fs.writeFileSync(file, w1Slave(35000));
    clock.advance(HOUR / 2);
    assert.equal((await m.read()).registerWh, 5000 + ((5000 + 10_000) / 2) * 0.5);
    fs.writeFileSync(file, w1Slave(20000));
    clock.advance(HOUR / 2);
    const cooled = await m.read();
    assert.equal(cooled.registerWh, 8750 + (10_000 / 2) * 0.5, 'cooling ramps the power down, never the register');
    clock.advance(HOUR);
    assert.equal((await m.read()).registerWh, cooled.registerWh, 'below the baseline nothing flows');
    assert.equal(powerFromTemperature(80, rule), 20_000, 'the power is capped at maxPowerW');
    assert.equal(powerFromTemperature(-40, rule), 0);
  });

  it('counts at most maxIntervalMs of a long gap, so an outage cannot become a burst of energy', async () => {
    addSensor(SENSOR, w1Slave(30000));
    const clock = new FakeClock();
    const m = meter({ clock, maxIntervalMs: 36_000 });
    await m.read();
    clock.advance(10 * HOUR);
    assert.equal((await m.read()).registerWh, 50, '5 kW for 36 s, not for 10 hours');
  });

  for (const [name, contents, code] of [
    ['a CRC NO line', w1Slave(23125, 'NO'), 'crc-error'],
    ['crc=00 (disconnected)', w1Slave(0, 'YES', '00'), 'disconnected'],
    ['85 °C (power-on value)', w1Slave(85000), 'power-on-value'],
    ['a file without a temperature', '72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n', 'unreadable'],
  ] as const) {
    it(`rejects ${name} with code ${code} and leaves the register unchanged`, async () => {
      const file = addSensor(SENSOR, w1Slave(30000));
      const clock = new FakeClock();
      const m = meter({ clock, sensorId: SENSOR, maxIntervalMs: HOUR });
      await m.read();
      clock.advance(HOUR / 2);
      const before = (await m.read()).registerWh;
      fs.writeFileSync(file, contents);
      clock.advance(HOUR / 4);
      await rejectsWith(m.read(), code);
      assert.equal(m.registerWh, before);
      fs.writeFileSync(file, w1Slave(30000));
      clock.advance(HOUR / 4);
      assert.equal((await m.read()).registerWh, before + 5000 / 2, 'the next good read integrates from the last good one');
    });
  }

  it('reports a missing sensor, an empty bus and a missing bus directory', async () => {
    addSensor(SENSOR, w1Slave(23125));
    await rejectsWith(meter({ sensorId: OTHER_SENSOR }).read(), 'sensor-not-found');
    fs.writeFileSync(path.join(bus, 'w1_master_slaves'), 'not found.\n');
    await rejectsWith(meter().read(), 'no-sensor');
    await rejectsWith(meter({ w1Directory: path.join(root, 'nowhere') }).read(), 'no-sensor');
  });

  // What a reader gets when the FifoWriter had to fall back: the read blocked the main thread.
  const BLOCKED = w1Slave(-55000);

  it('never blocks the event loop: while the worker is stuck in a read, main-thread timers run', async () => {
    const fifo = addSensor(SENSOR);
    const m = meter({ sensorId: SENSOR });
    const writer = new FifoWriter(fifo, w1Slave(21500), BLOCKED);
    let settled = false;
    const reading = m.read().finally(() => {
      settled = true;
    });
    // The meter's worker has opened the FIFO and waits inside the read, which cannot finish before the release.
    await writer.readerOpened;
    const timerFired = await new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 5));
    assert.equal(timerFired, true);
    assert.equal(settled, false, 'the read must still be pending while the timer runs');
    writer.release();
    assert.equal((await reading).temperatureC, 21.5);
    await writer.done;
  });

  it('fails a read that outlasts readTimeoutMs, then reads again with a fresh worker', async () => {
    const fifo = addSensor(SENSOR);
    const clock = new FakeClock();
    const m = meter({ sensorId: SENSOR, clock, readTimeoutMs: 2000 });
    const writer = new FifoWriter(fifo, w1Slave(99000), BLOCKED);
    const reading = m.read();
    await writer.readerOpened;
    clock.advance(2000);
    await rejectsWith(reading, 'timeout');
    // Unblock the abandoned worker so its thread can end.
    writer.release();
    await writer.done;
    fs.rmSync(fifo);
    fs.writeFileSync(fifo, w1Slave(24000));
    assert.equal((await m.read()).temperatureC, 24);
  });

  it('shares one read between concurrent callers', async () => {
    const fifo = addSensor(SENSOR);
    const m = meter({ sensorId: SENSOR });
    const writer = new FifoWriter(fifo, w1Slave(22000), BLOCKED);
    const a = m.read();
    const b = m.read();
    assert.equal(a, b);
    writer.release();
    assert.equal((await a).temperatureC, 22);
    await writer.done;
  });

  it('close() fails a pending read and every later one with code closed', async () => {
    const fifo = addSensor(SENSOR);
    const m = meter({ sensorId: SENSOR });
    const writer = new FifoWriter(fifo, w1Slave(22000), BLOCKED);
    const reading = m.read();
    await writer.readerOpened;
    await m.close();
    await rejectsWith(reading, 'closed');
    await rejectsWith(m.read(), 'closed');
    writer.release();
    await writer.done;
  });

  it('validates its options', () => {
    assert.throws(() => new Ds18b20Meter({ wattsPerDegree: -1 }), RangeError);
    assert.throws(() => new Ds18b20Meter({ baselineC: NaN }), RangeError);
    assert.throws(() => new Ds18b20Meter({ maxIntervalMs: 0 }), RangeError);
    assert.throws(() => new Ds18b20Meter({ readTimeoutMs: -1 }), RangeError);
    assert.throws(() => new Ds18b20Meter({ initialRegisterWh: 1.5 }), RangeError);
    assert.throws(() => new Ds18b20Meter({ sensorId: '../../etc' }), RangeError);
    assert.doesNotThrow(() => new Ds18b20Meter({ sensorId: '' }), 'an empty id means the first sensor');
  });
});
