import assert from 'node:assert/strict';
import type { NodeMessage } from 'node-red';
import { EvseStatus, SimulatedEvse } from '../../nodes/core/evse';
import type { MeterReading } from '../../nodes/core/meter';
import type { StationParty } from '../../nodes/core/session';
import type { ChargingPartyNode } from '../../nodes/types';
import mqtt from 'mqtt';
import { startBroker } from '../support/broker';
import { callsOf, coreMqttNodes, FlowNode, helper, loadFlow, startedParty, statusText } from '../support/nodered';
import { StationSetup, stationNodes, stubWalletNode } from '../support/station';
import { until, valueOf } from '../support/wait';

import chargingParty = require('../../nodes/charging-party');
import evseControl = require('../../nodes/evse-control');
import meterIn = require('../../nodes/meter-in');

/** Collects what a `helper` node receives. */
function received(id: string): NodeMessage[] {
  const messages: NodeMessage[] = [];
  helper.getNode(id).on('input', (msg: NodeMessage) => messages.push(msg));
  return messages;
}

const statusOf = (msg: NodeMessage) => msg.payload as EvseStatus;

describe('nodes: evse-control', function () {
  before(() => helper.startServer());
  after(() => helper.stopServer());
  afterEach(() => helper.unload());

  let unique = 0;

  /**
   * A station (real charging-party and StationParty), an evse-control `e1` wired to `status` and `commands`, and a
   * Catch node wired to `caught`. Resolves once the party has started and the flow has announced its charger.
   */
  async function load(evse: Record<string, unknown>, station: Partial<StationSetup> = {}, extra: FlowNode[] = []) {
    const stationFlow = await stationNodes({ partyId: `ST${++unique}`, ...station });
    await loadFlow(
      [stubWalletNode, chargingParty, evseControl, meterIn, coreMqttNodes],
      [
        { id: 'f1', type: 'tab' },
        ...stationFlow,
        { id: 'e1', z: 'f1', type: 'evse-control', party: 'p1', driver: 'simulated', maxCurrentA: '16', volts: '230', phases: '1', autoPlug: true, vehicleTargetWh: '0', baseTopic: '', watchdog: '0', wires: [['status'], ['commands']], ...evse },
        { id: 'status', z: 'f1', type: 'helper' },
        { id: 'commands', z: 'f1', type: 'helper' },
        { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'f1', type: 'helper' },
        ...extra,
      ],
    );
    const partyNode = helper.getNode('p1') as ChargingPartyNode;
    const party = await startedParty<StationParty>('p1');
    const node = helper.getNode('e1');
    const out = { status: received('status'), commands: received('commands'), caught: received('caught') };
    /** Sends a command and resolves with the next status it causes. */
    const command = async (payload: unknown, topic?: string): Promise<EvseStatus> => {
      const before = out.status.length;
      node.receive({ payload, ...(topic ? { topic } : {}) } as NodeMessage);
      return statusOf(await valueOf(() => out.status[before], 'the next status'));
    };
    /** The first status from now on that satisfies `predicate`. */
    const nextStatus = async (predicate: (status: EvseStatus) => boolean): Promise<EvseStatus> => {
      const from = out.status.length;
      return statusOf(await valueOf(() => out.status.slice(from).find((msg) => predicate(statusOf(msg))), 'a status that matches'));
    };
    return { partyNode, party, node, out, command, nextStatus };
  }

  it('registers a simulated charger on its station and obeys enable, disable, pause, resume, plug, unplug and current limits', async function () {
    const { partyNode, node, out, command } = await load({});
    assert.ok([...partyNode.evses.values()][0] instanceof SimulatedEvse, 'the EVSE is registered on the station for a simulated meter');
    assert.equal(statusText(node), 'evse-control.status.disabled');

    const enabled = await command('enable');
    assert.deepEqual([enabled.mode, enabled.charging, enabled.offeredCurrentA, enabled.state], ['enabled', true, 16, 'C']);
    assert.equal(out.status[out.status.length - 1].topic, 'evse');
    assert.equal(statusText(node), 'evse-control.status.charging');

    // The 6 A rule: below the pilot's minimum the charger pauses, and a limit of 6 A or more lifts it.
    const tooLow = await command(5);
    assert.deepEqual([tooLow.mode, tooLow.currentLimitA, tooLow.pauseReasons, tooLow.charging], ['paused', 0, ['below-minimum-current'], false]);
    assert.equal(statusText(node), 'evse-control.status.paused');
    const ten = await command({ currentLimit: 10 });
    assert.deepEqual([ten.mode, ten.offeredCurrentA, ten.pauseReasons], ['enabled', 10, []]);
    assert.equal((await command(40)).currentLimitA, 16, 'capped at the maximum current');

    assert.deepEqual((await command('pause')).pauseReasons, ['remote']);
    assert.equal((await command('resume')).mode, 'enabled');
    const unplugged = await command('unplug');
    assert.deepEqual([unplugged.vehicleConnected, unplugged.state], [false, 'A']);
    assert.equal(statusText(node), 'evse-control.status.no-vehicle');
    assert.equal((await command('plug')).charging, true);
    assert.equal((await command('disable')).mode, 'disabled');

    node.receive({ payload: 'plug' });
    node.receive({ payload: 'fly' });
    node.receive({ payload: { currentLimit: 'lots' } });
    await valueOf(() => out.caught[2], 'a third error');
    const reasons = out.caught.map((msg) => (msg as NodeMessage & { error: { message: string } }).error.message);
    assert.match(reasons[0], /already plugged/);
    assert.match(reasons[1], /evse-control\.errors\.unknown-command/);
    assert.match(reasons[2], /current limit must be a finite number/);
    assert.deepEqual(out.commands, [], 'a simulated charger sends no MQTT commands');

    await helper.unload();
    assert.equal(partyNode.evses.size, 0, 'closing the node takes its EVSE off the station');
  });

  it('drives an OpenEVSE over MQTT: claims on output 2, charger status from the input', async function () {
    const { node, out, command } = await load({ driver: 'openevse', baseTopic: 'openevse-t1' });
    const claim = (payload: unknown) => ({ topic: 'openevse-t1/claim/set', payload });
    // Sent as the flow started, before this test could listen on the output: read it from the node's sends.
    const announced = callsOf(node, 'send').map(([outputs]) => (outputs as (NodeMessage | null)[])[1]);
    assert.deepEqual(
      announced.filter((msg) => msg !== null).map(({ topic, payload }) => ({ topic, payload })),
      [claim({ state: 'disabled' })],
      'told where it stands when the flow starts',
    );

    await command('enable');
    const commandSent = async (index: number) => {
      const { topic, payload } = await valueOf(() => out.commands[index], `command ${index}`);
      return { topic, payload };
    };
    assert.deepEqual(await commandSent(0), claim({ state: 'active', charge_current: 16 }));
    const charging = await command('3', 'openevse-t1/state');
    assert.deepEqual([charging.state, charging.charging, charging.vehicleConnected, charging.reason], ['C', true, true, 'charger:state']);
    assert.deepEqual(await commandSent(1), claim({ state: 'active', charge_current: 16 }), 'the full state again on its first report');
    await command(6);
    assert.deepEqual(await commandSent(2), claim({ state: 'active', charge_current: 6 }));
    await command(5);
    assert.deepEqual(await commandSent(3), claim({ state: 'disabled' }));

    helper.getNode('e1').receive({ topic: 'openevse-t1/claim/set', payload: '{"state":"disabled"}' });
    assert.equal((await command('pause')).reason, 'remote', 'its own command coming back is not a status');
    helper.getNode('e1').receive({ payload: 'plug' });
    const error = await valueOf(() => out.caught[0], 'an error');
    assert.match((error as NodeMessage & { error: { message: string } }).error.message, /evse-control\.errors\.simulated-only/);
  });

  it('talks to an OpenEVSE through the core mqtt nodes and a real broker', async function () {
    const broker = await startBroker();
    const charger = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
    try {
      const claims: unknown[] = [];
      charger.on('message', (topic, payload) => topic === 'openevse-t2/claim/set' && claims.push(JSON.parse(payload.toString())));
      await charger.subscribeAsync('openevse-t2/claim/set');
      const { command, out, nextStatus } = await load({ driver: 'openevse', baseTopic: 'openevse-t2', wires: [['status'], ['mqttOut']] }, {}, [
        { id: 'b1', type: 'mqtt-broker', broker: '127.0.0.1', port: String(broker.port), clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
        { id: 'mqttOut', z: 'f1', type: 'mqtt out', broker: 'b1', topic: '', qos: '0', retain: 'false' },
        { id: 'mqttIn', z: 'f1', type: 'mqtt in', broker: 'b1', topic: 'openevse-t2/#', qos: '0', datatype: 'utf8', wires: [['e1']] },
      ]);
      // Retained, as the charger keeps its state topic: the flow's `mqtt in` gets it whenever it subscribes. Sent
      // once the test listens to the node's status, so that a fast broker cannot deliver it before.
      await charger.publishAsync('openevse-t2/state', '1', { retain: true });
      // Its first report proves the link is up: the charger is told it is disabled.
      assert.deepEqual(await valueOf(() => claims[0], 'the first claim command'), { state: 'disabled' });
      await valueOf(() => out.status.map(statusOf).find((s) => s.reason === 'charger:state'), "the charger's state");
      await command('enable');
      assert.deepEqual(await valueOf(() => claims[1], 'the second claim command'), { state: 'active', charge_current: 16 });
      const charging = nextStatus((s) => s.charging);
      await charger.publishAsync('openevse-t2/state', '3');
      assert.equal((await charging).offeredCurrentA, 16);
    } finally {
      await charger.publishAsync('openevse-t2/state', '', { retain: true });
      await charger.endAsync();
      await helper.unload();
      await broker.close();
    }
  });

  it('goes on charging a session restored from the journal, and pauses while unpaid energy exceeds the credit', async function () {
    const { party, out, nextStatus } = await load({}, { charging: true, incrementWh: 1, creditWh: 1 });
    const charging = await valueOf(() => out.status.map(statusOf).find((s) => s.charging), 'a charging status');
    assert.equal(charging.mode, 'enabled');

    const now = Date.now();
    await party.meterReading({ registerWh: 100, timestamp: now, source: 'test' });
    await party.meterReading({ registerWh: 101, timestamp: now + 1, source: 'test' });
    assert.equal(statusOf(out.status[out.status.length - 1]).charging, true, 'unpaid energy within the credit keeps it going');
    const paused = nextStatus((s) => s.mode === 'paused');
    await party.meterReading({ registerWh: 102, timestamp: now + 2, source: 'test' });
    assert.deepEqual((await paused).pauseReasons, ['credit']);

    // What the station emits once a payment for the two increments is co-signed (a real one needs a channel).
    const resumed = nextStatus((s) => s.charging);
    party.emit('energy', { sessionId: 'S1', deliveredWh: 2, paidWh: 2 });
    assert.deepEqual((await resumed).pauseReasons, []);
  });

  it('resumes a session restored mid-charge at its site share: no claim ever offers more', async function () {
    // A 10 A site under a 32 A charger: the restored session may take 10 A, the charger's full 32 A never.
    const { node, out } = await load({ driver: 'openevse', baseTopic: 'openevse-t3', maxCurrentA: '32' }, { charging: true, siteLimitA: '10' });
    const active = await valueOf(() => out.status.map(statusOf).find((s) => s.mode === 'enabled'), 'an enabled status');
    assert.equal(active.offeredCurrentA, 10);
    // Every claim the node sent, also those sent before the test could listen on its output.
    const claims = callsOf(node, 'send').map(([outputs]) => (outputs as (NodeMessage | null)[])[1]?.payload).filter((payload) => payload !== undefined);
    assert.deepEqual(claims.filter((claim) => (claim as { state: string }).state === 'active'), [{ state: 'active', charge_current: 10 }]);
  });

  it('stops the session when the vehicle is unplugged, and the stop disables the charger', async function () {
    const { party, out, command, node } = await load({}, { charging: true });
    await valueOf(() => out.status.map(statusOf).find((s) => s.charging), 'a charging status');
    const stopping = new Promise((resolve) => party.once('stopping', resolve));
    await command('unplug');
    assert.deepEqual(await stopping, { sessionId: 'S1', reason: 'unplugged' });
    assert.equal(party.session.stopReason, 'unplugged');
    await until(() => statusText(node) === 'evse-control.status.disabled', 'the disabled status');
  });

  it('stops the session when the simulated vehicle is full', async function () {
    // 32 A on 3 phases: 22 kW fills a 1 Wh battery in about 0.16 s.
    // That may happen before `load` resolves, so wait on the session's stop reason rather than on the event.
    const { party } = await load({ maxCurrentA: '32', phases: '3', vehicleTargetWh: '1' }, { charging: true });
    await until(() => party.session.stopReason !== null, 'a stopped session');
    assert.deepEqual([party.session.sessionId, party.session.stopReason], ['S1', 'vehicle-full']);
  });

  it('pauses when no payment comes while charging, until the operator resumes', async function () {
    const { node, out, command, nextStatus } = await load({ watchdog: '0.2' }, { charging: true });
    await valueOf(() => out.status.map(statusOf).find((s) => s.charging), 'a charging status');
    const paused = await nextStatus((s) => s.pauseReasons.includes('watchdog'));
    assert.equal(paused.charging, false);
    assert.deepEqual(callsOf(node, 'warn').map(([text]) => text), ['evse-control.warn.watchdog']);
    const resumed = await command('resume');
    assert.deepEqual([resumed.charging, resumed.pauseReasons], [true, []]);
  });

  it('enables the charger when a session opens and disables it when it stops', async function () {
    const { party, node, nextStatus } = await load({});
    assert.equal(statusText(node), 'evse-control.status.disabled');
    const enabled = nextStatus((s) => s.charging);
    party.emit('opened', { sessionId: 'S2', vehicleId: 'EV2', depositAddress: '9'.repeat(81), deposits: { vehicle: 10, station: 0 } });
    assert.equal((await enabled).offeredCurrentA, 16);
    const disabled = nextStatus((s) => s.mode === 'disabled');
    party.emit('stopping', { sessionId: 'S2', reason: 'target-reached' });
    await disabled;
  });

  it('feeds a simulated meter-in that follows its charger, and the readings drive the credit gate', async function () {
    const { party, nextStatus } = await load({ maxCurrentA: '32', phases: '3' }, { charging: true, incrementWh: 1, creditWh: 1 }, [
      { id: 'm1', z: 'f1', type: 'meter-in', source: 'simulated', party: 'p1', interval: '0.02', wires: [['readings']] },
      { id: 'readings', z: 'f1', type: 'helper' },
    ]);
    // Stands in for the stage node that hands the station's readings to its session.
    helper.getNode('readings').on('input', (msg: NodeMessage) => void party.meterReading(msg.payload as MeterReading));
    const paused = await nextStatus((s) => s.pauseReasons.includes('credit'));
    assert.equal(paused.charging, false);
    // The gate heard the energy before the queued reading was claimed; the claims follow.
    await until(() => party.session.claimedIncrements >= 2, 'two claims');
  });

  it('refuses a vehicle charging-party', async function () {
    const stationFlow = await stationNodes({ partyId: `EV${++unique}`, role: 'vehicle' });
    await loadFlow([stubWalletNode, chargingParty, evseControl], [...stationFlow, { id: 'e1', type: 'evse-control', party: 'p1', driver: 'simulated' }]);
    const node = helper.getNode('e1');
    assert.deepEqual(callsOf(node, 'error')[0], ['evse-control.errors.not-station']);
    assert.equal((helper.getNode('p1') as ChargingPartyNode).evses.size, 0);
  });
});
