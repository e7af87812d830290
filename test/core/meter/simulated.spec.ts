import assert from 'node:assert/strict';
import { SimulatedEvse } from '../../../nodes/core/evse/simulated';
import { SimulatedMeter } from '../../../nodes/core/meter/simulated';
import { FakeClock } from '../evse/fake-clock';

const HOUR = 3_600_000;

function setup(maxCurrentA = 16) {
  const clock = new FakeClock();
  const evse = new SimulatedEvse({ maxCurrentA, clock });
  const meter = new SimulatedMeter(evse, { initialRegisterWh: 1000 });
  return { clock, evse, meter };
}

describe('core/meter simulated meter coupled to the EVSE', () => {
  it('counts nothing until the EVSE is enabled and a vehicle is plugged in', async () => {
    const { clock, evse, meter } = setup();
    clock.advance(HOUR);
    assert.equal((await meter.read()).registerWh, 1000);
    evse.enable();
    clock.advance(HOUR);
    assert.equal((await meter.read()).registerWh, 1000, 'enabled but no vehicle');
    evse.disable();
    evse.plug();
    clock.advance(HOUR);
    assert.equal((await meter.read()).registerWh, 1000, 'vehicle but disabled');
    evse.close();
  });

  it('integrates volts × allowed amps over time while charging', async () => {
    const { clock, evse, meter } = setup(32);
    evse.plug();
    evse.enable();
    evse.setCurrentLimit(16);
    clock.advance(HOUR);
    const first = await meter.read();
    assert.equal(first.registerWh, 1000 + 230 * 16, 'one hour at 16 A, 230 V');
    assert.equal(first.timestamp, clock.now());
    assert.equal(first.source, 'simulated');
    evse.setCurrentLimit(8);
    clock.advance(HOUR / 2);
    assert.equal((await meter.read()).registerWh, 1000 + 230 * 16 + (230 * 8) / 2, 'half the current for half an hour');
    evse.close();
  });

  it('stops counting when paused, when the limit drops below 6 A and when unplugged', async () => {
    const { clock, evse, meter } = setup();
    evse.plug();
    evse.enable();
    clock.advance(60_000);
    const running = (await meter.read()).registerWh;
    assert.ok(running > 1000);

    evse.pause('credit');
    clock.advance(HOUR);
    assert.equal((await meter.read()).registerWh, running, 'paused');
    evse.resume('credit');

    evse.setCurrentLimit(5);
    clock.advance(HOUR);
    assert.equal((await meter.read()).registerWh, running, 'below 6 A');
    evse.setCurrentLimit(16);

    evse.unplug();
    clock.advance(HOUR);
    assert.equal((await meter.read()).registerWh, running, 'unplugged');
    evse.close();
  });

  it('is monotonic and never shows an unfinished watt-hour', async () => {
    const { clock, evse, meter } = setup();
    evse.plug();
    evse.enable();
    const powerW = 230 * 16;
    let previous = 1000;
    for (let step = 1; step <= 50; step++) {
      clock.advance(777);
      const { registerWh } = await meter.read();
      assert.ok(Number.isSafeInteger(registerWh));
      assert.ok(registerWh >= previous);
      const exactWh = 1000 + (powerW * 777 * step) / HOUR;
      assert.ok(registerWh <= exactWh + 1e-6 && registerWh > exactWh - 1, `${registerWh} vs exact ${exactWh}`);
      previous = registerWh;
    }
    evse.close();
  });
});
