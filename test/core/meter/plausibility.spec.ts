import assert from 'node:assert/strict';
import { maxPlausibleWh } from '../../../nodes/core/meter/plausibility';

describe('core/meter plausibility checks (vehicle side)', () => {
  it('bounds energy by max power × elapsed time', () => {
    assert.equal(maxPlausibleWh(3600, 3_600_000), 3600);
    assert.equal(maxPlausibleWh(11_000, 10_000), (11_000 * 10) / 3600);
    assert.equal(maxPlausibleWh(11_000, 0), 0);
    assert.throws(() => maxPlausibleWh(-1, 1000), RangeError);
    assert.throws(() => maxPlausibleWh(1000, -1), RangeError);
  });
});
