import assert from 'node:assert/strict';
import type { SessionRecord } from '../../nodes/core/session';
import { generateSeed } from '../../nodes/core/wallet';
import { startBroker } from '../support/broker';
import { loadFlow } from '../support/nodered';
import { assertWalletBooks, brokerAndRuntime, collect, errorsOf, NODES, ONE_SESSION, readStationMeter, sessionFlow, startOneSession } from '../support/session-flow';
import { until } from '../support/wait';

describe('nodes: the broker restarts in the middle of a session', function () {
  const context = brokerAndRuntime();

  it('keeps the session through a broker restart (what was sent meanwhile is queued by the client or resent on the next heartbeat), and settles with exact books', async function () {
    // A heartbeat every 5 s (a third of the peer timeout); the core mqtt nodes reconnect every 5 s.
    const timing = { peerTimeout: '15' };
    await loadFlow(NODES, sessionFlow(context.broker.port, { vehicle: { targetWh: '80', ...timing, ...ONE_SESSION }, station: timing }), {
      'wallet-s': { seed: generateSeed() },
      'wallet-v': { seed: generateSeed() },
    });
    const station = collect('events-s');
    const vehicle = collect('events-v');
    await startOneSession(vehicle);
    await until(() => station.some((m) => m.topic === 'opened'), 'the channel to open');

    // The station's meter, read as fast as the vehicle takes claims (readStationMeter); `readPaid` then waits until
    // the vehicle has paid up to that reading, or the session stops.
    let register = 1000;
    const stopping = () => station.some((m) => m.topic === 'stopping');
    const paidWh = () => station.filter((m) => m.topic === 'paid').at(-1)?.payload.paidWh ?? 0;
    const read = async () => {
      await readStationMeter(register, 1000);
      register += 10;
    };
    const readPaid = async () => {
      const deliveredWh = register - 1000;
      await read();
      await until(() => stopping() || paidWh() >= deliveredWh, `payment up to ${deliveredWh} Wh`);
    };
    while (station.filter((m) => m.topic === 'paid').length < 2) await readPaid();
    // The broker goes away; a claim is made meanwhile and lost with it. A new broker takes its port.
    const port = context.broker.port;
    await context.broker.close();
    const claims = station.filter((m) => m.topic === 'claim').length;
    await read();
    await until(() => station.filter((m) => m.topic === 'claim').length > claims, 'a claim while the broker is down');
    context.broker = await startBroker(port);
    // Each payment now waits for the clients to reconnect and for what was lost to be resent.
    while (!stopping()) await readPaid();
    await until(() => station.some((m) => m.topic === 'settled') && vehicle.some((m) => m.topic === 'settled'), 'settlement');

    const record: SessionRecord = station.find((m) => m.topic === 'settled')!.payload;
    const cost = record.total_cost.excl_vat;
    assert.equal(record.remark, 'target-reached');
    assert.equal(cost, (record.energy_wh * 100) / 1000);
    assert.ok(record.unpaid_energy_wh <= 10, `unpaid ${record.unpaid_energy_wh} Wh is within the credit`);
    assert.deepEqual(vehicle.find((m) => m.topic === 'settled')!.payload.channel.final_balances, record.channel.final_balances);
    await assertWalletBooks(cost, record.channel.deposit_address);
    // Gaps noticed on arrival are expected while messages are missing; nothing else went wrong.
    const errors = errorsOf(['open-s', 'pay-s', 'settle-s', 'open-v', 'pay-v', 'settle-v']).filter((e) => !/messages are missing/.test(e));
    assert.deepEqual(errors, []);
  });
});
