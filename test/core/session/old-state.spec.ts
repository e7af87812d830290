import assert from 'node:assert/strict';
import type { ChannelState } from '../../../nodes/core/flash';
import { attachState, Pair, pairTests } from '../../support/parties';
import { until } from '../../support/wait';

/**
 * The station's default `maxAtRisk`: with nothing configured, an older state that the vehicle attaches on the
 * development Tangle (which confirms at once, before any watch can react) costs the station at most half the
 * vehicle's deposit.
 */
describe('session: old states, the risk is bounded by default', function () {
  const { tangle, track } = pairTests();

  it('caps each channel at half the vehicle deposit when maxAtRisk is not set, so an attached opening state costs at most that', async function () {
    const clock = { t: Date.now() };
    // No maxAtRisk: the default applies. One token per increment, a vehicle deposit of 40: the cap is 20.
    const pair = track(new Pair(tangle(), { common: { now: () => clock.t, peerTimeoutMs: 1500 }, maxOffers: 1, station: { watchMs: 100 }, vehicle: { deposit: 40, targetWh: 0 } }));
    await pair.startCharging();
    assert.equal(pair.station.riskCap(pair.station.session.channel!), 20);
    const opening = structuredClone(pair.vehicle.session.channel!) as ChannelState;
    const startRegister = 1000;
    await pair.station.meterReading({ registerWh: startRegister, timestamp: clock.t, source: 'test' });

    // The vehicle pays each increment until the station stops the channel (a rollover, or the channel exhausted):
    // then the vehicle vanishes and attaches the opening state, taking back everything paid in the channel.
    let paidAtStop = -1;
    pair.station.on('stopping', () => {
      if (paidAtStop >= 0) return;
      paidAtStop = pair.station.session.paidIncrements;
      pair.kill('vehicle');
    });
    for (let wh = startRegister + 10; paidAtStop < 0; wh += 10) {
      clock.t += 10_000;
      await pair.station.meterReading({ registerWh: wh, timestamp: clock.t, source: 'test' }).catch(() => undefined);
      const claimed = pair.station.session.claimedIncrements;
      await until(() => paidAtStop >= 0 || pair.station.session.paidIncrements >= claimed);
    }
    await attachState(tangle(), opening);

    await until(() => pair.settled.station.length > 0);
    assert.equal(pair.settled.station[0].remark, 'old-state', 'the station found the older state');
    assert.ok(pair.events.some(([role, event]) => role === 'station' && event === 'old-state'));
    // The opening state won: each side has its deposit back, and the station lost what the channel paid it.
    assert.equal((await pair.wallets.station.balance()).total, 100);
    assert.equal((await pair.wallets.vehicle.balance()).total, 100);
    assert.ok(paidAtStop > 0, 'the channel paid something before the attack');
    assert.ok(paidAtStop <= 20, `the station lost ${paidAtStop} tokens, more than the default cap of 20`);
  });
});
