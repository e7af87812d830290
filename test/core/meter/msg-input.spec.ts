import assert from 'node:assert/strict';
import { MeterInputError, MsgInputMeter } from '../../../nodes/core/meter/msg-input';

function rejects(meter: MsgInputMeter, value: unknown, code: string, timestamp?: unknown): void {
  assert.throws(
    () => meter.accept(value, timestamp),
    (error: unknown) => error instanceof MeterInputError && error.code === code,
    `${String(value)} should fail with ${code}`,
  );
}

describe('core/meter msg-input meter', () => {
  it('accepts Wh as numbers or decimal text and publishes whole Wh, rounded down', () => {
    let now = 1000;
    const meter = new MsgInputMeter({ now: () => now, source: 'modbus' });
    assert.deepEqual(meter.accept(1234), { registerWh: 1234, timestamp: 1000, source: 'modbus' });
    now = 2000;
    assert.equal(meter.accept(' 1234.9 ').registerWh, 1234);
    assert.equal(meter.accept('1.2357e3').registerWh, 1235);
    assert.equal(meter.accept(1236, 5000).timestamp, 5000);
    assert.equal(meter.accept(1237, new Date(6000)).timestamp, 6000);
  });

  it('converts kWh without binary rounding losing a watt-hour', () => {
    const meter = new MsgInputMeter({ unit: 'kWh' });
    assert.equal(meter.accept(1.005).registerWh, 1005, '1.005 * 1000 is 1004.9999999999999 in binary');
    assert.equal(meter.accept('1.0055').registerWh, 1005);
    assert.equal(meter.accept(12.3456).registerWh, 12345);
  });

  it('rejects values that are not finite, non-negative numbers, leaving its state unchanged', () => {
    const meter = new MsgInputMeter();
    meter.accept(500);
    for (const value of [null, undefined, true, {}, [], 'abc', '', '0x10', 'Infinity', '12 Wh']) {
      rejects(meter, value, 'not-a-number');
    }
    rejects(meter, NaN, 'not-a-number');
    rejects(meter, Infinity, 'not-finite');
    rejects(meter, -1, 'negative');
    rejects(meter, '-0.5', 'negative');
    rejects(meter, 2 ** 53, 'too-large');
    assert.equal(meter.last?.registerWh, 500);
  });

  it('rejects a register that goes down, even by a fraction, and a timestamp that goes back', () => {
    const meter = new MsgInputMeter();
    meter.accept(1000.5, 10_000);
    rejects(meter, 1000.4, 'decreased');
    rejects(meter, 999, 'decreased');
    rejects(meter, 1001, 'timestamp-decreased', 9999);
    rejects(meter, 1001, 'bad-timestamp', -5);
    rejects(meter, 1001, 'bad-timestamp', '2024-01-01');
    assert.equal(meter.accept(1000.5, 10_000).registerWh, 1000, 'an equal value is fine');
    assert.match(
      (() => {
        try {
          meter.accept(10);
        } catch (error) {
          return (error as Error).message;
        }
        return '';
      })(),
      /reset\(\)/,
      'the error tells how to handle a meter exchange',
    );
  });

  it('accepts a lower value only after an explicit reset (meter exchange)', () => {
    const meter = new MsgInputMeter();
    meter.accept(5000);
    meter.reset();
    assert.equal(meter.last, undefined);
    assert.equal(meter.accept(12).registerWh, 12);
  });

  it('rejects an unknown unit', () => {
    assert.throws(() => new MsgInputMeter({ unit: 'MWh' as 'Wh' }), RangeError);
  });

  it('takes a message payload: a register value, or { registerWh, timestamp }', () => {
    const meter = new MsgInputMeter({ unit: 'kWh', now: () => 5 });
    assert.deepEqual(meter.acceptPayload('1.5'), { registerWh: 1500, timestamp: 5, source: 'msg' });
    assert.deepEqual(meter.acceptPayload({ registerWh: 2, timestamp: 7 }), { registerWh: 2000, timestamp: 7, source: 'msg' });
    assert.throws(() => meter.acceptPayload({ energy: 3 }), /expected a number/);
    assert.throws(() => meter.acceptPayload(null), /expected a number/);
  });
});
