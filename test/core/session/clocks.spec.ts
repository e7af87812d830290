import assert from 'node:assert/strict';
import { Pair, pairTests } from '../../support/parties';
import { until } from '../../support/wait';

describe('session: clocks, a configurable tolerance, a named clock problem, stale proposals withdrawn', function () {
  const { tangle, track } = pairTests();

  const clockEvents = (pair: Pair, role: string) => pair.events.filter(([r, event]) => r === role && event === 'clock').map(([, , p]) => p as { skewS: number; ok: boolean });

  it('names a clock 700 s off on both sides, where the default tolerance refuses the session; a tolerance of 900 s lets it charge', async function () {
    const ahead = () => Date.now() + 700_000; // a Pi that booted without NTP, say
    const refused = track(new Pair(tangle(), { common: { heartbeatMs: 100 }, clocks: { vehicle: ahead }, maxOffers: 1 }));
    await refused.start();
    await until(() => clockEvents(refused, 'station').length > 0 && clockEvents(refused, 'vehicle').length > 0);
    assert.deepEqual(clockEvents(refused, 'station')[0], { sessionId: refused.station.session.sessionId, skewS: 700, ok: false });
    assert.equal(clockEvents(refused, 'vehicle')[0].skewS, -700);
    assert.ok(refused.warnings.some((w) => /clock differs from ours by 700 s.*check NTP/.test(w)), 'the log names the problem');
    // The opening state, timestamped by the vehicle's clock, is refused: nothing is signed or deposited.
    await until(() => refused.errors.some((e) => /TIMESTAMP_INVALID|more than 600 s away/.test(e.message)) || refused.warnings.some((w) => /TIMESTAMP_INVALID/.test(w)));
    assert.equal(refused.station.session.channel?.chain.length ?? 0, 0);
    refused.close();

    const tolerant = track(new Pair(tangle(), { common: { heartbeatMs: 100, clockToleranceS: 900 }, clocks: { vehicle: ahead }, maxOffers: 1 }));
    await tolerant.startCharging();
    assert.deepEqual(clockEvents(tolerant, 'station'), [], 'within the tolerance: no clock problem');
  });

  it('withdraws a proposal that got no answer in time (the station was down) and proposes it again, and the channel moves on', async function () {
    const clock = { t: Date.now() };
    const pair = track(new Pair(tangle(), { common: { now: () => clock.t, heartbeatMs: 200 }, maxOffers: 1, vehicle: { targetWh: 0 } }));
    await pair.startCharging();
    await pair.station.meterReading({ registerWh: 1000, timestamp: clock.t, source: 'test' });
    // The station goes down right after its claim leaves: the vehicle's proposal for it is lost.
    pair.station.once('claim', () => pair.kill('station'));
    clock.t += 10_000;
    await pair.station.meterReading({ registerWh: 1010, timestamp: clock.t, source: 'test' });
    await until(() => pair.vehicle.session.channel?.pending?.role === 'proposer');
    // Twelve minutes later (beyond the 600 s tolerance) the station is back and gets the proposal again: too old.
    clock.t += 720_000;
    await pair.restart('station');
    await until(() => pair.station.session.paidIncrements === 1 && pair.vehicle.session.paidIncrements === 1);
    assert.ok(pair.warnings.some((w) => /refused our proposal of state \d+ as stale; proposed again/.test(w)));
    assert.equal(pair.vehicle.session.channel!.balances[1] - pair.vehicle.session.channel!.deposits[1], 1, 'paid once, not twice');
  });
});
