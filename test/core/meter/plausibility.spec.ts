import assert from 'node:assert/strict';
import { checkAgainstOwnMeter, checkIncrease, maxPlausibleWh } from '../../../nodes/core/meter/plausibility';
import { MeterReading } from '../../../nodes/core/meter/reading';

const reading = (registerWh: number, timestamp: number): MeterReading => ({ registerWh, timestamp, source: 'test' });

describe('core/meter plausibility checks (vehicle side)', () => {
  it('bounds energy by max power × elapsed time', () => {
    assert.equal(maxPlausibleWh(3600, 3_600_000), 3600);
    assert.equal(maxPlausibleWh(11_000, 10_000), (11_000 * 10) / 3600);
    assert.equal(maxPlausibleWh(11_000, 0), 0);
    assert.throws(() => maxPlausibleWh(-1, 1000), RangeError);
    assert.throws(() => maxPlausibleWh(1000, -1), RangeError);
  });

  it('accepts a step up to the physical maximum (plus the 1 Wh of register rounding) and rejects more', () => {
    const start = reading(1000, 0);
    // 3680 W for 10 s is 10.22 Wh: the whole-Wh registers can show at most 11.
    assert.equal(checkIncrease(start, reading(1011, 10_000), 3680).ok, true);
    const tooFast = checkIncrease(start, reading(1012, 10_000), 3680);
    assert.deepEqual(tooFast, { ok: false, increaseWh: 12, allowedWh: 11, reason: 'faster-than-max-power' });
    assert.equal(checkIncrease(start, reading(1012, 10_000), 3680, 1).ok, true, 'with 1 Wh tolerance');
    assert.equal(checkIncrease(start, reading(1001, 0), 3680).ok, true, 'the same instant may still show 1 Wh of rounding');
  });

  it('rejects a register or a timestamp that goes backwards', () => {
    assert.equal(checkIncrease(reading(1000, 0), reading(999, 1000), 3680).reason, 'register-decreased');
    assert.equal(checkIncrease(reading(1000, 1000), reading(1001, 0), 3680).reason, 'timestamp-decreased');
  });

  it('checks a claim against the vehicle meter with absolute and relative tolerance', () => {
    assert.equal(checkAgainstOwnMeter(100, 100).ok, true);
    assert.equal(checkAgainstOwnMeter(90, 100).ok, true, "claiming less than measured is the station's loss");
    assert.equal(checkAgainstOwnMeter(101, 100).ok, false);
    const within = checkAgainstOwnMeter(103, 100, { toleranceWh: 1, toleranceRatio: 0.02 });
    assert.deepEqual(within, { ok: true, differenceWh: 3, allowedWh: 103 });
    assert.equal(checkAgainstOwnMeter(104, 100, { toleranceWh: 1, toleranceRatio: 0.02 }).ok, false);
    assert.throws(() => checkAgainstOwnMeter(NaN, 100), RangeError);
  });
});
