import assert from 'node:assert/strict';
import type { SessionRecord } from '../../nodes/core/session';
import { generateSeed } from '../../nodes/core/wallet';
import { startBroker } from '../support/broker';
import { helper, loadFlow } from '../support/nodered';
import { assertWalletBooks, brokerAndRuntime, collect, errorsOf, NODES, ONE_SESSION, sessionFlow, startOneSession } from '../support/session-flow';
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

    const payStation = helper.getNode('pay-s');
    let register = 1000;
    const read = () => {
      payStation.receive({ payload: { registerWh: register, timestamp: Date.now(), source: 'test' } } as never);
      register += 10;
    };
    while (station.filter((m) => m.topic === 'paid').length < 2) {
      read();
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // The broker goes away; a claim is made meanwhile and lost with it. A new broker takes its port.
    const port = context.broker.port;
    await context.broker.close();
    const claims = station.filter((m) => m.topic === 'claim').length;
    read();
    await until(() => station.filter((m) => m.topic === 'claim').length > claims, 'a claim while the broker is down');
    context.broker = await startBroker(port);
    while (!station.some((m) => m.topic === 'stopping')) {
      read();
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
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
