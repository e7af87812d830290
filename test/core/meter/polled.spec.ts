import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Evse, SimulatedEvse } from '../../../nodes/core/evse';
import { Meter, MeterReading, NotSimulatedError, PolledMeter, pollIntervalMs, RegisterFile, simulatedSupply } from '../../../nodes/core/meter';
import { MqttCommandEvse } from '../../../nodes/core/evse';
import { FakeClock } from '../evse/fake-clock';
import { tempDir } from '../../support/temp';

const HOUR = 3_600_000;

function registerFile(savedWh?: number | string): RegisterFile {
  const dir = tempDir('m2m-polled-');
  const file = path.join(dir, 'meter.json');
  if (typeof savedWh === 'string') fs.writeFileSync(file, savedWh);
  else if (savedWh !== undefined) fs.writeFileSync(file, JSON.stringify({ registerWh: savedWh, timestamp: 1, source: 'test' }));
  return new RegisterFile(file);
}

/** The next `event` the meter emits, with its arguments. */
function next(meter: PolledMeter, event: string): Promise<unknown[]> {
  return new Promise((resolve) => meter.once(event, (...args: unknown[]) => resolve(args)));
}

/** A meter whose reads fail while `failure` is set. */
class FlakyMeter implements Meter {
  failure: string | null = null;
  registerWh = 0;
  closed = false;
  async read(): Promise<MeterReading> {
    if (this.failure) throw new Error(this.failure);
    return { registerWh: this.registerWh, timestamp: Date.now(), source: 'flaky' };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('core/meter polled meter', () => {
  it('polls on its clock, saves each reading before it is sent, and goes on from the saved register after a restart', async () => {
    const clock = new FakeClock();
    const evse = new SimulatedEvse({ maxCurrentA: 16, clock });
    evse.plug();
    evse.enable();
    const register = registerFile(1000);
    let meter = new PolledMeter({ supply: simulatedSupply(() => evse), register, intervalMs: 1000, clock });
    const [first] = (await next(meter, 'polled')) as [MeterReading];
    assert.equal(first.registerWh, 1000, 'the first reading goes on from the saved register');
    clock.advance(HOUR);
    const [second] = (await next(meter, 'polled')) as [MeterReading];
    assert.equal(second.registerWh, 1000 + 3680);
    assert.equal(JSON.parse(fs.readFileSync(register.file, 'utf8')).registerWh, 4680, 'saved before it was sent');
    await meter.close();

    // A redeployed evse-control brings a new simulator that counts from 0: the register carries over.
    const replaced = new SimulatedEvse({ maxCurrentA: 16, clock });
    meter = new PolledMeter({ supply: simulatedSupply(() => replaced), register: new RegisterFile(register.file), intervalMs: 1000, clock });
    const [restarted] = (await next(meter, 'polled')) as [MeterReading];
    assert.equal(restarted.registerWh, 4680);
    await meter.close();
    assert.equal(clock.pendingTimers, 0, 'closed: no poll left');
  });

  it('waits while there is no EVSE to follow, and refuses one that is not simulated', async () => {
    let evse: Evse | null = null;
    const meter = new PolledMeter({ supply: simulatedSupply(() => evse), register: registerFile(), intervalMs: 1000, clock: new FakeClock() });
    await next(meter, 'waiting');
    assert.equal(await meter.read(), null);
    evse = new MqttCommandEvse({ protocol: 'openevse', baseTopic: 'o', maxCurrentA: 16 });
    await assert.rejects(meter.read(), NotSimulatedError);
    await meter.close();
  });

  it('reports a failure that persists once, and the next one again after a reading', async () => {
    const clock = new FakeClock();
    const flaky = new FlakyMeter();
    flaky.failure = 'CRC error';
    const meter = new PolledMeter({ supply: () => flaky, register: registerFile(), intervalMs: 1000, clock });
    const failures: unknown[] = [];
    meter.on('failure', (err: Error, first: boolean) => failures.push([err.message, first]));
    await next(meter, 'failure');
    for (let i = 0; i < 2; i++) {
      const failed = next(meter, 'failure');
      clock.advance(1000);
      await failed;
    }
    flaky.failure = null;
    flaky.registerWh = 5;
    const polled = next(meter, 'polled');
    clock.advance(1000);
    await polled;
    flaky.failure = 'CRC error';
    const failed = next(meter, 'failure');
    clock.advance(1000);
    await failed;
    assert.deepEqual(failures, [
      ['CRC error', true],
      ['CRC error', false],
      ['CRC error', false],
      ['CRC error', true],
    ]);
    await meter.close();
    assert.equal(flaky.closed, true);
  });

  it('reads nothing from a damaged register file, and says so', async () => {
    const flaky = new FlakyMeter();
    const meter = new PolledMeter({ supply: () => flaky, register: registerFile('{"registerWh": -3}'), intervalMs: 1000, clock: new FakeClock() });
    const [err] = (await next(meter, 'unusable')) as [Error];
    assert.match(err.message, /holds no valid register/);
    await assert.rejects(meter.read(), /holds no valid register/);
    await meter.close();
  });

  it('polls at most 100 times a second, and every second for an interval of 0 or less', () => {
    assert.deepEqual([pollIntervalMs(0.001), pollIntervalMs(0.5), pollIntervalMs(0), pollIntervalMs(-1)], [10, 500, 1000, 1000]);
  });
});
