import assert from 'node:assert/strict';
import { TangleConnection } from '../../../nodes/core/wallet';
import { devTangle } from '../../support/parties';
import { SiteBench } from '../../support/site';

const LIMIT_A = 16;
const VOLTS = 230;

describe('core/site ten vehicles at one three-connector station on a 16 A budget (embedded Tangle, real crypto)', function () {
  let tangle: TangleConnection;
  let bench: SiteBench;
  before(async () => {
    tangle = await devTangle();
  });
  after(async () => {
    bench?.close();
    await tangle?.close();
  });

  it('queues, shares fairly, never exceeds the budget, and settles every channel to the token', async function () {
    this.timeout(600_000);
    bench = new SiteBench(tangle, { connectors: 3, vehicles: 10, limitA: LIMIT_A, maxCurrentA: 16, targetWh: 30, arrivalEveryMs: 20_000, tickMs: 5_000 });
    await bench.run();
    assert.deepEqual(bench.errors, [], 'no refused message, no warning');

    // The budget: never more current offered than the site has, and every charging connector at 6 A or more.
    assert.ok(bench.peak.offeredA <= LIMIT_A, `peak ${bench.peak.offeredA} A`);
    assert.ok(bench.peak.drawnW <= LIMIT_A * VOLTS, `peak ${bench.peak.drawnW} W`);
    for (const snapshot of bench.snapshots) {
      assert.ok(snapshot.allocatedA <= LIMIT_A);
      const charging = snapshot.connectors.filter((c) => c.state === 'charging');
      for (const c of charging) assert.ok(c.currentA >= 6, `${c.connectorId} at ${c.currentA} A`);
      // Fair: charging connectors (all 16 A chargers) differ by at most one amp.
      const amps = charging.map((c) => c.currentA);
      if (amps.length > 0) assert.ok(Math.max(...amps) - Math.min(...amps) <= 1, amps.join());
    }
    // The queue: a third connector waited for power while two charged at 8 A each.
    assert.ok(bench.snapshots.some((s) => s.connectors.filter((c) => c.state === 'queued').length > 0), 'someone waited for power');
    assert.ok(bench.snapshots.some((s) => s.connectors.filter((c) => c.currentA === 8).length === 2));

    // First come, first served: the vehicles got current in the order they arrived.
    const powered = bench.visits.map((v) => v.poweredAt!);
    assert.deepEqual(powered, [...powered].sort((a, b) => a - b));

    // Every visit: one session, both sides' records agree, and the books balance to the token.
    let paidTotal = 0;
    for (const visit of bench.visits) {
      const { station, vehicle } = visit.records;
      assert.ok(station && vehicle && visit.poweredAt !== null);
      assert.equal(station.session_id, vehicle.session_id);
      assert.equal(station.total_cost.excl_vat, vehicle.total_cost.excl_vat);
      assert.deepEqual(station.channel.final_balances, vehicle.channel.final_balances);
      assert.ok(station.energy_wh >= 30, `${station.energy_wh} Wh paid`);
      assert.equal((await visit.wallet.balance()).total, 100 - vehicle.total_cost.excl_vat, `${vehicle.vehicle_id}'s wallet`);
      paidTotal += vehicle.total_cost.excl_vat;
    }
    assert.equal((await bench.stationWallet.balance()).total, 200 + paidTotal, "the station's wallet");
    assert.equal(new Set(bench.visits.map((v) => v.records.station!.session_id)).size, 10);

    const waits = bench.visits.map((v) => v.poweredAt! - v.arrivedAt);
    console.log(`      ${JSON.stringify({
      sessions: bench.visits.length,
      settlements: bench.visits.filter((v) => v.records.station!.channel.settlement_bundles.length > 0).length,
      paidTokens: paidTotal,
      energyWh: bench.visits.reduce((sum, v) => sum + v.records.station!.energy_wh, 0),
      peakOfferedA: bench.peak.offeredA,
      peakDrawnW: bench.peak.drawnW,
      budgetW: LIMIT_A * VOLTS,
      longestWaitS: Math.max(...waits) / 1000,
      waitsS: waits.map((w) => w / 1000),
      creditPauses: bench.snapshots.filter((s) => s.connectors.some((c) => c.state === 'paused')).length,
    })}`);
  });
});
