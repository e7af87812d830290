import assert from 'node:assert/strict';
import type { AnyEnvelope } from '../../../nodes/core/protocol';
import { Pair, pairTests } from '../../support/parties';
import { until } from '../../support/wait';

describe('session: heartbeats, the replay guard is kept per session', function () {
  const { tangle, track } = pairTests();

  it("takes the heartbeats of the next session's vehicle although its clock is behind the last one's", async function () {
    // The first session's vehicle runs an hour ahead (within a tolerance of two hours); the next vehicle (here: a
    // fresh instance) is on time.
    let offset = 3_600_000;
    const pair = track(new Pair(tangle(), { common: { peerTimeoutMs: 600, clockToleranceS: 7200 }, clocks: { vehicle: () => Date.now() + offset }, vehicle: { targetWh: 20 }, maxOffers: 1 }));
    await pair.start();
    const offers: AnyEnvelope[] = [];
    pair.station.on('send', (out: { payload: AnyEnvelope }) => out.payload.type === 'offer' && offers.push(out.payload));
    await until(() => pair.station.phase === 'charging' && pair.vehicle.phase === 'charging');
    const first = pair.station.session.sessionId;
    const heartbeats = (session: string) => pair.sent.filter((m) => m.payload.type === 'resend' && m.payload.from === 'vehicle' && m.payload.session === session).length;
    await until(() => heartbeats(first) >= 3);
    for (const registerWh of [1000, 1010, 1020]) await pair.station.meterReading({ registerWh, timestamp: Date.now(), source: 'test' });
    await until(() => pair.settled.station.length === 1 && pair.settled.vehicle.length === 1 && offers.length > 0);

    offset = 0;
    pair.kill('vehicle');
    await pair.restart('vehicle');
    await pair.vehicle.receive('offer', JSON.stringify(offers.at(-1)));
    await until(() => pair.station.phase === 'charging' && pair.station.session.sessionId !== first);
    const second = pair.station.session.sessionId;

    // Nothing but heartbeats flows now: fifteen of them span five peer timeouts, and the station keeps the session.
    const baseline = heartbeats(second);
    await until(() => heartbeats(second) >= baseline + 15 || pair.station.session.sessionId !== second);
    assert.equal(pair.station.session.sessionId, second, 'the station kept the session');
    assert.equal(pair.station.phase, 'charging');
    assert.deepEqual(pair.errors.filter((e) => /REPLAY/.test(e.message)).map((e) => e.message), []);
  });
});
