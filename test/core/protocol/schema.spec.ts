import assert from 'node:assert/strict';
import { Schema, validate } from '../../../nodes/core/protocol/schema';

const claim: Schema = {
  type: 'object',
  required: ['wh', 'meter'],
  additionalProperties: false,
  properties: {
    wh: { type: 'integer', minimum: 0 },
    meter: { type: 'string', pattern: '^[A-Z9]{81}$' },
    tags: { type: 'array', maxItems: 2, items: { type: 'string', maxLength: 3 } },
    kind: { enum: ['a', 'b'] },
    v: { const: 1 },
    ratio: { type: 'number', maximum: 1 },
  },
};

describe('protocol: schema validator', function () {
  const meter = 'A'.repeat(81);

  it('accepts a conforming value', function () {
    assert.equal(validate(claim, { wh: 10, meter, tags: ['x'], kind: 'a', v: 1, ratio: 0.5 }), undefined);
  });

  it('names the path and the problem of the first violation', function () {
    assert.deepEqual(validate(claim, { meter }), { path: '$.wh', problem: 'is required' });
    assert.deepEqual(validate(claim, { wh: 1.5, meter }), { path: '$.wh', problem: 'must be an integer' });
    assert.deepEqual(validate(claim, { wh: -1, meter }), { path: '$.wh', problem: 'must be >= 0' });
    assert.equal(validate(claim, { wh: 1, meter: 'abc' })?.path, '$.meter');
    assert.deepEqual(validate(claim, { wh: 1, meter, extra: 1 }), { path: '$.extra', problem: 'is not allowed' });
    assert.equal(validate(claim, { wh: 1, meter, tags: ['x', 'y', 'z'] })?.problem, 'must have at most 2 items');
    assert.equal(validate(claim, { wh: 1, meter, tags: ['long'] })?.path, '$.tags[0]');
    assert.equal(validate(claim, { wh: 1, meter, kind: 'c' })?.path, '$.kind');
    assert.equal(validate(claim, { wh: 1, meter, v: 2 })?.path, '$.v');
    assert.equal(validate(claim, { wh: 1, meter, ratio: 2 })?.problem, 'must be <= 1');
    assert.deepEqual(validate(claim, [1]), { path: '$', problem: 'must be of type object' });
  });

  it('treats non-finite and unsafe numbers as wrong types', function () {
    assert.equal(validate({ type: 'number' }, Infinity)?.problem, 'must be of type number');
    assert.equal(validate({ type: 'integer' }, 2 ** 60)?.problem, 'must be an integer');
    assert.equal(validate({ type: 'number' }, 7), undefined);
  });
});
