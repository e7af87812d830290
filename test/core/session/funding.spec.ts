import assert from 'node:assert/strict';
import { Pair, pairTests } from '../../support/parties';
import { until } from '../../support/wait';

/**
 * A vehicle (or anyone on the broker posing as one) that opens a two-way channel and vanishes at each step of the
 * opening must cost the station time, never tokens: the station deposits only once the vehicle's deposit is
 * confirmed, and gives the session up after its peer timeout or its funding wait.
 */
describe('session: funding, a vehicle that vanishes or stalls during the opening costs the station no tokens', function () {
  const { tangle, track } = pairTests();

  /** The station's wallet holds its 100 tokens and none of its addresses ever signed. */
  async function assertStationUntouched(pair: Pair): Promise<void> {
    assert.equal((await pair.wallets.station.balance()).total, 100, 'the station holds all its tokens');
    assert.ok(pair.wallets.station.addresses().every((a) => !a.spent), 'the station never deposited');
  }

  const vanishBeforeDeposit = [
    ['after the open is accepted, before the opening state', 'received open-accept → proposal'],
    ['after the station co-signed the opening state, before the completion', 'received cosignature → completion'],
    ['with the opening state complete, before its deposit', 'deposit sending'],
  ];
  for (const [when, step] of vanishBeforeDeposit) {
    it(`vanishes ${when}: the station drops the session after its peer timeout`, async function () {
      const pair = track(new Pair(tangle(), { common: { peerTimeoutMs: 1500 }, maxOffers: 1, crashes: [{ side: 'vehicle', step, restart: false }] }));
      await pair.start();
      await until(() => pair.crashed.length === 1);
      const session = pair.station.session.sessionId || pair.vehicle.session.sessionId;
      await until(() => pair.events.some(([role, event, p]) => role === 'station' && event === 'stopping' && (p as { sessionId: string }).sessionId === session));
      await until(() => pair.station.phase === 'idle');
      await assertStationUntouched(pair);
    });
  }

  it('vanishes after its deposit: the station deposits, then settles the opening state and both get their deposits back', async function () {
    const pair = track(new Pair(tangle(), { common: { peerTimeoutMs: 1500 }, maxOffers: 1, crashes: [{ side: 'vehicle', step: 'deposit sent', restart: false }] }));
    await pair.start();
    await until(() => pair.settled.station.length > 0);
    const [record] = pair.settled.station;
    assert.equal(record.remark, 'peer-silent');
    assert.deepEqual(record.channel.final_balances, { vehicle: 20, station: 20 });
    assert.equal((await pair.wallets.station.balance()).total, 100);
    assert.equal((await pair.wallets.vehicle.balance()).total, 100);
    const { balances } = await tangle().api.getBalances([record.channel.deposit_address]);
    assert.equal(Number(balances[0]), 0, 'nothing stays locked in the channel');
  });

  it('stays but never deposits (its heartbeats keep coming): the station gives up after its funding wait, and the vehicle drops the session', async function () {
    // No peer timeout: only the funding wait ends the session. The vehicle's wallet is empty, so it cannot deposit.
    const pair = track(new Pair(tangle(), { common: { peerTimeoutMs: 0, heartbeatMs: 200 }, maxOffers: 1, station: { fundingWaitMs: 1500 } }));
    await pair.wallets.station.topUpFromFaucet(100);
    pair.makeVehicle();
    pair.makeStation();
    await pair.vehicle.start();
    await pair.station.start();
    await until(() => pair.events.some(([role, event, p]) => role === 'station' && event === 'stopping' && (p as { reason: string }).reason === 'funding-timeout'));
    await until(() => pair.station.phase === 'idle' && pair.vehicle.phase === 'idle');
    assert.ok(pair.warnings.some((w) => /insufficient funds/.test(w)), 'the vehicle could not deposit');
    assert.ok(pair.events.some(([role, event, p]) => role === 'vehicle' && event === 'stopping' && (p as { reason: string }).reason === 'funding-timeout'), 'the vehicle heard the stop');
    await assertStationUntouched(pair);
  });
});
