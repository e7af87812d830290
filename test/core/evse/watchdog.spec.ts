import assert from 'node:assert/strict';
import { SimulatedEvse } from '../../../nodes/core/evse/simulated';
import { Watchdog } from '../../../nodes/core/evse/watchdog';
import { FakeClock } from './fake-clock';

function setup(timeoutMs = 5000) {
  const clock = new FakeClock();
  const evse = new SimulatedEvse({ maxCurrentA: 16, clock });
  evse.plug();
  evse.enable();
  const watchdog = new Watchdog(evse, { timeoutMs, clock });
  let expirations = 0;
  watchdog.on('expired', () => expirations++);
  return { clock, evse, watchdog, expirations: () => expirations };
}

describe('core/evse watchdog', () => {
  it('keeps charging while kicked within the timeout', () => {
    const { clock, evse, watchdog, expirations } = setup();
    for (let i = 0; i < 10; i++) {
      clock.advance(4999);
      assert.equal(watchdog.kick(), true);
    }
    assert.equal(evse.status().charging, true);
    assert.equal(expirations(), 0);
    watchdog.close();
    evse.close();
  });

  it('pauses the EVSE when silent for the timeout, and later kicks do not resume it', () => {
    const { clock, evse, watchdog, expirations } = setup();
    clock.advance(4999);
    assert.equal(evse.status().charging, true);
    clock.advance(1);
    assert.equal(expirations(), 1);
    assert.equal(watchdog.expired, true);
    assert.equal(evse.status().charging, false);
    assert.deepEqual(evse.status().pauseReasons, ['watchdog']);
    assert.equal(watchdog.kick(), false, 'a kick after expiry is ignored');
    clock.advance(60_000);
    assert.equal(evse.status().charging, false);
    assert.equal(expirations(), 1);
    watchdog.close();
    evse.close();
  });

  it('resumes only on an explicit resume, and is armed again afterwards', () => {
    const { clock, evse, watchdog, expirations } = setup();
    clock.advance(5000);
    watchdog.resume();
    assert.equal(evse.status().charging, true);
    clock.advance(5000);
    assert.equal(expirations(), 2, 'silence after the resume pauses again');
    watchdog.close();
    evse.close();
  });

  it('does not lift a pause that someone else holds', () => {
    const { clock, evse, watchdog } = setup();
    clock.advance(5000);
    evse.pause('credit');
    watchdog.resume();
    assert.equal(evse.status().charging, false);
    assert.deepEqual(evse.status().pauseReasons, ['credit']);
    watchdog.close();
    evse.close();
  });

  it('close() leaves no timer and never fires afterwards', () => {
    const { clock, evse, watchdog, expirations } = setup();
    watchdog.close();
    assert.equal(clock.pendingTimers, 0);
    clock.advance(60_000);
    assert.equal(expirations(), 0);
    assert.equal(evse.status().charging, true);
    evse.close();
  });

  it('rejects a timeout that is not a positive whole number of ms', () => {
    const evse = new SimulatedEvse({ maxCurrentA: 16, clock: new FakeClock() });
    for (const timeoutMs of [0, -1, 1.5, NaN]) assert.throws(() => new Watchdog(evse, { timeoutMs }), RangeError);
    evse.close();
  });
});
