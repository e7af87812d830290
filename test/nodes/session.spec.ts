import assert from 'node:assert/strict';
import type { Node } from 'node-red';
import type { SessionRecord } from '../../nodes/core/session';
import { generateSeed } from '../../nodes/core/wallet';
import type { ChargingPartyNode, IotaWalletNode } from '../../nodes/types';
import { startBroker, TestBroker } from '../support/broker';
import { coreMqttNodes, FlowNode, helper, loadFlow } from '../support/nodered';
import iotaTangle = require('../../nodes/iota-tangle');
import iotaWallet = require('../../nodes/iota-wallet');
import chargingParty = require('../../nodes/charging-party');
import flashChannelOpen = require('../../nodes/flash-channel-open');
import payIncrement = require('../../nodes/pay-increment');
import channelSettle = require('../../nodes/channel-settle');

const NODES = [coreMqttNodes, iotaTangle, iotaWallet, chargingParty, flashChannelOpen, payIncrement, channelSettle];
const PREFIX = 'm2m-ev/v1/ST1';

/** Both pipelines in one runtime, talking only through the core MQTT nodes and the broker. */
export function sessionFlow(brokerPort: number, overrides: { vehicle?: Record<string, unknown> } = {}): FlowNode[] {
  const mqttIn = (id: string, topic: string, wires: string[]) => ({ id, z: 'tab', type: 'mqtt in', broker: 'broker', topic, qos: '1', datatype: 'json', wires: [wires] });
  return [
    { id: 'tab', type: 'tab' },
    { id: 'broker', type: 'mqtt-broker', broker: '127.0.0.1', port: String(brokerPort), clientid: '', protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'tangle', type: 'iota-tangle', mode: 'embedded', dataDir: '', mwm: '5', depth: '3', milestoneInterval: '0', dev: true, powWorkers: '1' },
    { id: 'wallet-s', type: 'iota-wallet', tangle: 'tangle', security: '1', devFunding: '100' },
    { id: 'wallet-v', type: 'iota-wallet', tangle: 'tangle', security: '1', devFunding: '100' },
    {
      id: 'party-s', type: 'charging-party', role: 'station', partyId: 'ST1', wallet: 'wallet-s', prefix: 'm2m-ev/v1',
      pricePerKWh: '100', incrementWh: '10', maxPowerW: '100000', creditWh: '10', stationDeposit: '40', maxDepth: '8',
    },
    {
      id: 'party-v', type: 'charging-party', role: 'vehicle', partyId: 'EV1', stationId: 'ST1', wallet: 'wallet-v', prefix: 'm2m-ev/v1',
      maxPricePerKWh: '200', deposit: '40', maxStationDeposit: '100', targetWh: '60', maxPowerW: '100000', maxDepth: '8', autoStart: true,
      ...overrides.vehicle,
    },
    // station
    mqttIn('in-open-s', `${PREFIX}/open/station`, ['open-s']),
    mqttIn('in-pay-s', `${PREFIX}/pay/station`, ['pay-s']),
    mqttIn('in-settle-s', `${PREFIX}/settle/station`, ['settle-s']),
    { id: 'open-s', z: 'tab', type: 'flash-channel-open', party: 'party-s', wires: [['out-s'], ['events-s']] },
    { id: 'pay-s', z: 'tab', type: 'pay-increment', party: 'party-s', wires: [['out-s'], ['events-s']] },
    { id: 'settle-s', z: 'tab', type: 'channel-settle', party: 'party-s', wires: [['out-s'], ['events-s']] },
    { id: 'out-s', z: 'tab', type: 'mqtt out', broker: 'broker', topic: '', qos: '', retain: '' },
    { id: 'events-s', z: 'tab', type: 'helper' },
    // vehicle
    mqttIn('in-offer-v', `${PREFIX}/offer`, ['open-v']),
    mqttIn('in-open-v', `${PREFIX}/open/vehicle`, ['open-v']),
    mqttIn('in-pay-v', `${PREFIX}/pay/vehicle`, ['pay-v']),
    mqttIn('in-settle-v', `${PREFIX}/settle/vehicle`, ['settle-v']),
    { id: 'open-v', z: 'tab', type: 'flash-channel-open', party: 'party-v', wires: [['out-v'], ['events-v']] },
    { id: 'pay-v', z: 'tab', type: 'pay-increment', party: 'party-v', wires: [['out-v'], ['events-v']] },
    { id: 'settle-v', z: 'tab', type: 'channel-settle', party: 'party-v', wires: [['out-v'], ['events-v']] },
    { id: 'out-v', z: 'tab', type: 'mqtt out', broker: 'broker', topic: '', qos: '', retain: '' },
    { id: 'events-v', z: 'tab', type: 'helper' },
  ];
}

interface EventMsg {
  topic: string;
  payload: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function collect(id: string): EventMsg[] {
  const seen: EventMsg[] = [];
  (helper.getNode(id) as unknown as NodeJS.EventEmitter).on('input', (msg: EventMsg) => seen.push(msg));
  return seen;
}

/** The errors our nodes reported (the helper spies on Node.prototype, so calls are told apart by node id). */
export function errorsOf(ids: string[]): string[] {
  const spy = (helper.getNode(ids[0]) as unknown as { error: { getCalls(): { thisValue: Node; args: unknown[] }[] } }).error;
  return spy
    .getCalls()
    .filter((call) => ids.includes(call.thisValue.id))
    .map((call) => `${call.thisValue.id}: ${String(call.args[0])}`);
}

async function until(check: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('nodes: a whole charging session through the core MQTT nodes and a broker', function () {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
    await helper.startServer();
  });
  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await broker.close();
  });

  it('offers, opens, pays each increment, settles on the Tangle, and the books balance to the token', async function () {
    await loadFlow(NODES, sessionFlow(broker.port), { 'wallet-s': { seed: generateSeed() }, 'wallet-v': { seed: generateSeed() } });
    const station = collect('events-s');
    const vehicle = collect('events-v');
    await until(() => station.some((m) => m.topic === 'opened'), 'the channel to open');

    // The station's meter: 10 Wh every half second (72 kW), read as a real meter would be, until the stop.
    const payStation = helper.getNode('pay-s');
    let register = 1000;
    while (!station.some((m) => m.topic === 'stopping')) {
      payStation.receive({ payload: { registerWh: register, timestamp: Date.now(), source: 'test' } } as never);
      register += 10;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
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

    const walletS = await (helper.getNode('wallet-s') as IotaWalletNode).wallet;
    const walletV = await (helper.getNode('wallet-v') as IotaWalletNode).wallet;
    assert.equal((await walletS.balance()).total, 100 + cost, 'the station received exactly what the vehicle paid');
    assert.equal((await walletV.balance()).total, 100 - cost, 'the vehicle paid exactly price × energy');
    const { balances } = await walletS.api.getBalances([record.channel.deposit_address]);
    assert.equal(Number(balances[0]), 0, 'nothing stays locked in the channel');
    assert.deepEqual(errorsOf(['open-s', 'pay-s', 'settle-s', 'open-v', 'pay-v', 'settle-v']), []);
    const party = helper.getNode('party-s') as ChargingPartyNode;
    assert.equal((await party.party).role, 'station');
  });
});
