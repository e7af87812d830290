import assert from 'node:assert/strict';
import type { SessionRecord } from '../../nodes/core/session';
import { generateSeed } from '../../nodes/core/wallet';
import { startBroker } from '../support/broker';
import { helper, loadFlow, startedParty } from '../support/nodered';
import { assertWalletBooks, brokerAndRuntime, collect, errorsOf, NODES, ONE_SESSION, readStationMeter, sessionFlow, startOneSession } from '../support/session-flow';
import { until } from '../support/wait';

describe('nodes: a whole charging session through the core MQTT nodes and a broker', function () {
  const context = brokerAndRuntime();

  it('offers, opens, pays each increment, settles on the Tangle, and the books balance to the token', async function () {
    await loadFlow(NODES, sessionFlow(context.broker.port, { vehicle: ONE_SESSION }), { 'wallet-s': { seed: generateSeed() }, 'wallet-v': { seed: generateSeed() } });
    const station = collect('events-s');
    const vehicle = collect('events-v');
    await startOneSession(vehicle);
    await until(() => station.some((m) => m.topic === 'opened'), 'the channel to open');

    // The station's meter: 10 Wh a reading, as fast as the agreed power delivers it, until the stop.
    for (let register = 1000; !station.some((m) => m.topic === 'stopping'); register += 10) await readStationMeter(register, 1000);
    await until(() => station.some((m) => m.topic === 'settled') && vehicle.some((m) => m.topic === 'settled'), 'settlement');

    const record: SessionRecord = station.find((m) => m.topic === 'settled')!.payload;
    const cost = record.total_cost.excl_vat;
    assert.equal(record.remark, 'target-reached');
    assert.ok(record.energy_wh >= 60, `at least the 60 Wh target, got ${record.energy_wh}`);
    assert.equal(record.energy_wh, record.increments * 10);
    assert.equal(cost, (record.energy_wh * 100) / 1000, 'price × energy: 100 tokens per kWh');
    assert.equal(record.energy_wh, station.filter((m) => m.topic === 'claim').at(-1)!.payload.increments * 10, 'every claimed increment was paid');
    assert.deepEqual(record.channel.final_balances, { vehicle: 40 - cost, station: 40 + cost });
    assert.deepEqual(vehicle.find((m) => m.topic === 'settled')!.payload.channel.final_balances, record.channel.final_balances);

    const payments = vehicle.filter((m) => m.topic === 'paid').map((m) => m.payload);
    assert.equal(payments.reduce((sum, p) => sum + p.amount, 0), cost);
    assert.deepEqual(payments.at(-1).balances, { vehicle: 40 - cost, station: 40 + cost });

    await assertWalletBooks(cost, record.channel.deposit_address);
    // The open nodes send each phase, and the wallets' balances once the settlement has moved the tokens.
    for (const events of [station, vehicle]) {
      const phases = events.filter((m) => m.topic === 'phase').map((m) => m.payload);
      for (const phase of ['funding', 'charging', 'settling', 'idle']) assert.ok(phases.includes(phase), `phase ${phase} among ${phases}`);
    }
    const reported = (events: typeof station, total: number) => events.some((m) => m.topic === 'wallet' && m.payload.total === total);
    await until(() => reported(station, 100 + cost) && reported(vehicle, 100 - cost), 'the open nodes to send the balances after the settlement', 30_000);
    assert.deepEqual(errorsOf(['open-s', 'pay-s', 'settle-s', 'open-v', 'pay-v', 'settle-v']), []);
    assert.equal((await startedParty('party-s')).role, 'station');
  });

  it('runs the paper’s station pipeline by itself: simulated EVSE and meter, with the credit gate holding', async function () {
    await helper.unload();
    // A fresh broker: the first test's station left its retained offer, signed with another identity key.
    await context.broker.close();
    context.broker = await startBroker();
    await loadFlow(NODES, sessionFlow(context.broker.port, { stationPipeline: true, vehicle: ONE_SESSION }), { 'wallet-s': { seed: generateSeed() }, 'wallet-v': { seed: generateSeed() } });
    const station = collect('events-s');
    const vehicle = collect('events-v');
    await startOneSession(vehicle);
    const evse = collect('evse-status');
    await until(() => station.some((m) => m.topic === 'settled') && vehicle.some((m) => m.topic === 'settled'), 'a session to settle by itself');

    const record: SessionRecord = station.find((m) => m.topic === 'settled')!.payload;
    const cost = record.total_cost.excl_vat;
    assert.equal(record.remark, 'target-reached');
    assert.equal(cost, (record.energy_wh * 100) / 1000);
    assert.deepEqual(record.channel.final_balances, { vehicle: 40 - cost, station: 40 + cost });
    await assertWalletBooks(cost, record.channel.deposit_address);

    // The credit held the charger while payments were on their way. (The charger's energy limit and the credit
    // gate are each checked exactly with a virtual clock in the core tests; here the machine's speed decides how
    // close a session comes to the credit.)
    assert.ok(evse.some((m) => m.payload.reason === 'energy-limit' || m.payload.pauseReasons.includes('credit')), 'the credit held the charger while a payment was on its way');
    assert.ok(evse.some((m) => m.payload.charging), 'energy flowed');
    assert.deepEqual(errorsOf(['open-s', 'pay-s', 'settle-s', 'open-v', 'pay-v', 'settle-v', 'evse-s', 'meter-s']), []);
  });
});
