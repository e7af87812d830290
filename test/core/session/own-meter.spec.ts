import assert from 'node:assert/strict';
import { ProtocolError } from '../../../nodes/core/protocol';
import type { TangleConnection } from '../../../nodes/core/wallet';
import { devTangle, Pair } from '../../support/parties';
import { until } from '../../support/wait';

describe("session: the vehicle's own-meter check survives a restart", function () {
  let tangle: TangleConnection;
  before(async () => {
    tangle = await devTangle();
  });
  after(() => tangle.close());

  it('still refuses, after a restart, a claim its meter never saw, and pays once the meter has seen it', async function () {
    const clock = { t: Date.now() };
    const pair = new Pair(tangle, { common: { now: () => clock.t }, maxOffers: 1, vehicle: { targetWh: 0, deposit: 40 } });
    try {
      await pair.startCharging();
      const reading = (registerWh: number) => ({ registerWh, timestamp: clock.t, source: 'test' });
      await pair.vehicle.ownMeterReading(reading(5000));
      await pair.vehicle.ownMeterReading(reading(5010));
      await pair.station.meterReading(reading(1000));
      clock.t += 10_000;
      await pair.station.meterReading(reading(1010));
      await until(() => pair.station.session.paidIncrements === 1);

      // The vehicle restarts: nothing of its meter is in memory any more, only in its journal.
      pair.kill('vehicle');
      await pair.restart('vehicle');
      assert.deepEqual(pair.vehicle.session.ownMeter, { atReadyWh: 5000, lastWh: 5010 });
      clock.t += 20_000;
      await pair.station.meterReading(reading(1030));
      await until(() => pair.errors.some((e) => e instanceof ProtocolError && /over-claim: 30 Wh claimed, our meter measured 10 Wh/.test(e.message)));
      assert.equal(pair.station.session.paidIncrements, 1, 'the claim its meter never saw is not paid');

      // Its meter reads again: the next claim is paid in full.
      await pair.vehicle.ownMeterReading(reading(5040));
      clock.t += 10_000;
      await pair.station.meterReading(reading(1040));
      await until(() => pair.station.session.paidIncrements === 4);
    } finally {
      pair.close();
    }
  });
});
