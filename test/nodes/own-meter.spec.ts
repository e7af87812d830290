import assert from 'node:assert/strict';
import type { SessionRecord } from '../../nodes/core/session';
import { generateSeed } from '../../nodes/core/wallet';
import { helper, loadFlow } from '../support/nodered';
import { assertWalletBooks, brokerAndRuntime, collect, errorsOf, NODES, ONE_SESSION, readStationMeter, sessionFlow, startOneSession } from '../support/session-flow';
import { until } from '../support/wait';

describe("nodes: the vehicle's own meter, wired into its pay-increment", function () {
  const context = brokerAndRuntime();

  it('pays no claim beyond what its own meter measured, and settles with exact books once the meters agree', async function () {
    await loadFlow(NODES, sessionFlow(context.broker.port, { vehicle: ONE_SESSION }), { 'wallet-s': { seed: generateSeed() }, 'wallet-v': { seed: generateSeed() } });
    const station = collect('events-s');
    const vehicle = collect('events-v');
    await startOneSession(vehicle);
    await until(() => vehicle.some((m) => m.topic === 'opened'), 'the channel to open');
    const ownMeter = helper.getNode('pay-v');
    const paidWh = () => station.filter((m) => m.topic === 'paid').at(-1)?.payload.paidWh ?? 0;
    const read = (node: typeof ownMeter, registerWh: number) => node.receive({ payload: { registerWh, timestamp: Date.now(), source: 'test' } } as never);
    // The station's meter advances 10 Wh a reading, no faster than the 100 kW both sides accept, so that only the
    // own meter refuses what it must.

    // The vehicle's meter measures 10 Wh; the station's claims 30. One increment of allowance (Meter tol. Wh 0):
    // 20 Wh are paid, the third claim is refused as an over-claim.
    read(ownMeter, 7000);
    read(ownMeter, 7010);
    await until(() => vehicle.length > 0 && errorsOf(['pay-v']).length === 0, 'the own meter readings taken', 20_000);
    for (const registerWh of [1000, 1010, 1020, 1030]) {
      await readStationMeter(registerWh, 1000);
      await until(() => station.some((m) => m.topic === 'claim' && m.payload.registerWh === registerWh) || registerWh === 1000, `the claim up to ${registerWh}`, 20_000);
    }
    await until(() => errorsOf(['pay-v']).some((e) => /over-claim: 30 Wh claimed, our meter measured 10 Wh/.test(e)), 'the over-claim refused', 20_000);
    await until(() => paidWh() === 20, 'the two increments the own meter allows paid', 20_000);
    assert.equal(paidWh(), 20, 'paid what the own meter allows, no more');

    // The vehicle's meter catches up: the rest is paid up to the 60 Wh target, and the session settles.
    read(ownMeter, 7100);
    for (let registerWh = 1040; !station.some((m) => m.topic === 'stopping'); registerWh += 10) {
      await readStationMeter(registerWh, 1000);
      await until(() => station.some((m) => m.topic === 'stopping') || paidWh() >= registerWh - 1000 - 10, `payment up to ${registerWh}`, 20_000);
    }
    await until(() => station.some((m) => m.topic === 'settled') && vehicle.some((m) => m.topic === 'settled'), 'settlement');
    const record: SessionRecord = station.find((m) => m.topic === 'settled')!.payload;
    assert.equal(record.remark, 'target-reached');
    await assertWalletBooks(record.total_cost.excl_vat, record.channel.deposit_address);
    assert.deepEqual(errorsOf(['open-s', 'pay-s', 'settle-s', 'open-v', 'settle-v']), []);
  });
});
