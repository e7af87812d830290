import assert from 'node:assert/strict';
import { SimulatedEvse } from '../../../nodes/core/evse/simulated';
import type { Clock } from '../../../nodes/core/evse/clock';
import { EvseStatus } from '../../../nodes/core/evse/types';
import { FakeClock } from './fake-clock';

const HOUR = 3_600_000;

function setup(options: { maxCurrentA?: number; phases?: 1 | 3 } = {}) {
  const clock = new FakeClock();
  const evse = new SimulatedEvse({ maxCurrentA: options.maxCurrentA ?? 16, phases: options.phases, clock });
  const events: EvseStatus[] = [];
  evse.on('status', (s) => events.push(s));
  return { clock, evse, events };
}

describe('core/evse simulated EVSE and vehicle', () => {
  it('walks the IEC 61851 states A → B → C → B → A with plug, enable, pause and unplug', () => {
    const { evse, events } = setup();
    assert.equal(evse.status().state, 'A');
    evse.plug();
    assert.equal(evse.status().state, 'B', 'plugged but not enabled');
    evse.enable();
    assert.equal(evse.status().state, 'C');
    assert.equal(evse.status().charging, true);
    evse.pause('credit');
    assert.equal(evse.status().state, 'B');
    assert.equal(evse.status().mode, 'paused');
    evse.unplug();
    assert.equal(evse.status().state, 'A');
    assert.deepEqual(
      events.map((e) => `${e.reason}:${e.state}`),
      ['plugged:B', 'enabled:C', 'credit:B', 'unplugged:A'],
    );
    evse.close();
  });

  it('charges in state D when the vehicle asks for ventilation, and reports E/F faults without energy', () => {
    const { clock, evse } = setup();
    evse.plug({ ventilation: true });
    evse.enable();
    assert.equal(evse.status().state, 'D');
    assert.equal(evse.status().charging, true);
    evse.simulateFault('E');
    const before = evse.deliveredWh();
    clock.advance(HOUR);
    assert.equal(evse.status().state, 'E');
    assert.equal(evse.deliveredWh(), before, 'no energy in a fault state');
    evse.simulateFault(null);
    assert.equal(evse.status().state, 'D');
    evse.close();
  });

  it('draws the lower of the offered current and the vehicle maximum, times volts and phases', () => {
    const { evse } = setup({ maxCurrentA: 32, phases: 3 });
    evse.plug({ maxCurrentA: 20 });
    evse.enable();
    assert.equal(evse.status().powerW, 230 * 20 * 3);
    evse.setCurrentLimit(10);
    assert.equal(evse.status().powerW, 230 * 10 * 3);
    evse.close();
  });

  it('rejects a second plug while a vehicle is plugged in', () => {
    const { evse } = setup();
    evse.plug();
    assert.throws(() => evse.plug(), /already plugged/);
    evse.close();
  });

  it('reports vehicle-full on time, from its own timer, once the target energy is in', () => {
    const { clock, evse, events } = setup();
    const targetWh = 100;
    evse.plug({ targetWh });
    evse.enable();
    const powerW = 230 * 16;
    const msToFull = Math.ceil((targetWh / powerW) * HOUR);
    clock.advance(msToFull - 1);
    assert.equal(events.at(-1)?.reason, 'enabled', 'not full a millisecond early');
    clock.advance(1);
    const last = events.at(-1)!;
    assert.equal(last.reason, 'vehicle-full');
    assert.equal(last.state, 'B');
    assert.equal(last.charging, false);
    assert.deepEqual(evse.vehicleState(), { receivedWh: targetWh, full: true });
    clock.advance(HOUR);
    assert.equal(evse.deliveredWh(), targetWh, 'a full vehicle draws nothing more');
    evse.close();
    assert.equal(clock.pendingTimers, 0, 'close() leaves no timer behind');
  });

  it('reports vehicle-full also when its timer fires a millisecond before the clock says it is due', () => {
    const clock = new FakeClock();
    // Node's timers and Date.now may differ by a millisecond: this clock fires every timer of 2 ms or more 1 ms early.
    const early: Clock = { now: () => clock.now(), setTimeout: (callback, ms) => clock.setTimeout(callback, Math.max(1, ms - 1)), clearTimeout: (handle) => clock.clearTimeout(handle) };
    const evse = new SimulatedEvse({ maxCurrentA: 32, phases: 3, clock: early });
    const events: EvseStatus[] = [];
    evse.on('status', (s) => events.push(s));
    evse.plug({ targetWh: 1 });
    evse.enable();
    clock.advance(1000);
    assert.equal(events.at(-1)?.reason, 'vehicle-full');
    assert.deepEqual(evse.vehicleState(), { receivedWh: 1, full: true });
    evse.close();
  });

  it('stops by itself at an energy limit, reports it as such (not as full), and goes on when the limit rises', () => {
    const { clock, evse, events } = setup();
    evse.plug();
    evse.enable();
    evse.setEnergyLimit(10);
    clock.advance(HOUR);
    assert.equal(evse.deliveredWh(), 10, 'not a fraction of a Wh past the limit, however late anyone looks');
    const stopped = events.at(-1)!;
    assert.deepEqual([stopped.reason, stopped.state, stopped.charging, stopped.mode], ['energy-limit', 'B', false, 'enabled']);
    assert.equal(evse.vehicleState()?.full, false);
    evse.setEnergyLimit(15);
    assert.equal(evse.status().charging, true);
    clock.advance(HOUR);
    assert.equal(evse.deliveredWh(), 15);
    evse.setEnergyLimit(null);
    clock.advance(1000);
    assert.ok(evse.deliveredWh() > 15, 'no limit: energy flows again');
    assert.throws(() => evse.setEnergyLimit(-1), RangeError);
    evse.close();
  });

  it('validates its options', () => {
    assert.throws(() => new SimulatedEvse({ maxCurrentA: 16, phases: 2 as 1 }), RangeError);
    assert.throws(() => new SimulatedEvse({ maxCurrentA: 16, volts: 0 }), RangeError);
  });
});
