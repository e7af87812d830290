import assert from 'node:assert/strict';
import { toRegisterWh } from '../../../nodes/core/meter/reading';

describe('core/meter register values', () => {
  it('rounds fractional Wh down to whole Wh, forgiving binary noise just below a whole Wh', () => {
    assert.equal(toRegisterWh(0), 0);
    assert.equal(toRegisterWh(9.999), 9);
    assert.equal(toRegisterWh(1.005 * 1000), 1005);
    assert.equal(toRegisterWh(10), 10);
  });

  it('refuses negative and unsafe values', () => {
    assert.throws(() => toRegisterWh(-1), RangeError);
    assert.throws(() => toRegisterWh(2 ** 53), RangeError);
    assert.throws(() => toRegisterWh(NaN), RangeError);
  });
});
