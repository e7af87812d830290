import assert from 'node:assert/strict';
import type { ChannelView } from '../../../nodes/core/session';
import { charge, Pair, pairTests } from '../../support/parties';
import { until } from '../../support/wait';

describe('session: the channel view for teaching (embedded Tangle, real crypto)', function () {
  const { tangle, track } = pairTests();

  it('tells each step of a real session: setup, deposits, every payment proposed and co-signed, the settlement on the Tangle', async function () {
    const clock = { t: Date.now() };
    const pair = track(new Pair(tangle(), { common: { now: () => clock.t }, maxOffers: 1 }));
    const views: Record<'station' | 'vehicle', ChannelView[]> = { station: [], vehicle: [] };
    await pair.start();
    pair.station.on('channel', (view: ChannelView) => views.station.push(view));
    pair.vehicle.on('channel', (view: ChannelView) => views.vehicle.push(view));
    await charge(pair, clock);
    await until(() => pair.settled.station.length > 0 && pair.settled.vehicle.length > 0);
    const record = pair.settled.vehicle[0];

    const steps = views.vehicle.map((v) => v.step);
    assert.equal(steps[0], 'setup', steps.join());
    assert.ok(steps.indexOf('funded') > 0, steps.join());
    assert.deepEqual(steps.slice(-3), ['proposed', 'settling', 'settled'], steps.join());
    assert.equal(views.vehicle[0].payment?.proposer, 'vehicle', 'the vehicle signs a refund state before it deposits');
    const payments = views.vehicle.filter((v) => v.step === 'completed');
    assert.equal(payments.length, record.increments + 1, 'the opening state, then one state per increment');
    for (const view of payments) {
      // The vehicle pays: it proposes and signs first, the station co-signs; the time is measured on this side.
      assert.deepEqual([view.payment?.proposer, view.payment?.cosigner], ['vehicle', 'station']);
      assert.ok(view.payment!.ms! >= 0);
      assert.equal(view.path[0], 1, 'every state spends from the root, the deposit address');
      assert.equal(view.path.length, view.depth + 1, 'down to a leaf');
      for (const [i, node] of view.path.entries()) if (i > 0) assert.equal(Math.floor(node / 2), view.path[i - 1], 'each bundle funds a child of the one before');
      assert.equal(view.offTangle.states, view.seq);
      assert.equal(view.balances.vehicle + view.balances.station, view.deposits.vehicle + view.deposits.station, 'the channel holds both deposits');
    }
    assert.deepEqual(payments.map((v) => v.seq), payments.map((_, i) => i + 1));
    const last = views.vehicle.at(-1)!;
    assert.deepEqual(last.balances, record.channel.final_balances);
    assert.deepEqual(last.onTangle, { deposits: true, settlement: record.channel.settlement_bundles });
    assert.deepEqual(last.offTangle, { states: 0, bundles: 0 });
    assert.equal(last.depositAddress, record.channel.deposit_address);
    assert.ok(last.nodes.every((n) => n.uses <= 2 && n.level <= last.depth));

    // The station sees the same payments from the other side: it co-signs what the vehicle proposed.
    assert.ok(views.station.some((v) => v.step === 'cosigned' && v.payment?.cosigner === 'station'));
    assert.deepEqual(views.station.at(-1)!.balances, record.channel.final_balances);
  });
});
