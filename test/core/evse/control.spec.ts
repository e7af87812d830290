import assert from 'node:assert/strict';
import { EvseControl } from '../../../nodes/core/evse/control';
import { BELOW_MINIMUM_CURRENT, IEC_MIN_CURRENT_A } from '../../../nodes/core/evse/types';

describe('core/evse control: modes, pause reasons and the 6 A rule', () => {
  it('starts disabled, offers nothing until enabled, and offers the limit once enabled', () => {
    const control = new EvseControl({ maxCurrentA: 16 });
    assert.equal(control.mode, 'disabled');
    assert.equal(control.offeredCurrentA, 0);
    assert.equal(control.enable(), true);
    assert.equal(control.enable(), false, 'a second enable changes nothing');
    assert.equal(control.mode, 'enabled');
    assert.equal(control.offeredCurrentA, 16);
  });

  it('stays paused while any pause reason holds; resuming one reason does not lift another', () => {
    const control = new EvseControl({ maxCurrentA: 16 });
    control.enable();
    control.pause('credit');
    control.pause('watchdog');
    assert.equal(control.mode, 'paused');
    assert.equal(control.offeredCurrentA, 0);
    control.resume('credit');
    assert.equal(control.mode, 'paused', 'the watchdog still holds it');
    assert.deepEqual(control.pauseReasons, ['watchdog']);
    control.resume('watchdog');
    assert.equal(control.mode, 'enabled');
  });

  it('keeps pause reasons across disable and enable: enabling never overrides a pause', () => {
    const control = new EvseControl({ maxCurrentA: 16 });
    control.enable();
    control.pause('credit');
    control.disable();
    assert.equal(control.mode, 'disabled');
    control.enable();
    assert.equal(control.mode, 'paused');
  });

  it('clamps to the station maximum and rounds fractional amps down', () => {
    const control = new EvseControl({ maxCurrentA: 16 });
    control.enable();
    assert.equal(control.setCurrentLimit(32).appliedA, 16);
    assert.equal(control.setCurrentLimit(10.9).appliedA, 10);
    assert.equal(control.offeredCurrentA, 10);
    assert.equal(control.setCurrentLimit(IEC_MIN_CURRENT_A).appliedA, 6, '6 A itself is allowed');
  });

  it('pauses below 6 A and resumes at the next limit of 6 A or more', () => {
    const control = new EvseControl({ maxCurrentA: 32 });
    control.enable();
    const below = control.setCurrentLimit(5.99);
    assert.deepEqual(below, { changed: true, appliedA: 0 });
    assert.equal(control.mode, 'paused');
    assert.deepEqual(control.pauseReasons, [BELOW_MINIMUM_CURRENT]);
    assert.equal(control.setCurrentLimit(0).changed, false, 'still below the minimum: nothing changes');
    assert.equal(control.setCurrentLimit(8).appliedA, 8);
    assert.equal(control.mode, 'enabled');
    assert.equal(control.offeredCurrentA, 8);
  });

  it('honours a vehicle-specific minimum above 6 A', () => {
    const control = new EvseControl({ maxCurrentA: 32, minCurrentA: 8 });
    control.enable();
    assert.equal(control.setCurrentLimit(7).appliedA, 0);
    assert.equal(control.mode, 'paused');
  });

  it('rejects limits that are not finite non-negative numbers, and bad ranges', () => {
    const control = new EvseControl({ maxCurrentA: 16 });
    for (const bad of [NaN, -1, Infinity, '10' as unknown as number]) {
      assert.throws(() => control.setCurrentLimit(bad), RangeError);
    }
    assert.throws(() => new EvseControl({ maxCurrentA: 16, minCurrentA: 5 }), RangeError);
    assert.throws(() => new EvseControl({ maxCurrentA: 4 }), RangeError);
    assert.throws(() => new EvseControl({ maxCurrentA: 16.5 }), RangeError);
  });
});
