import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import type { Choice } from '../../nodes/core/selection';
import type { SessionRecord } from '../../nodes/core/session';
import { generateSeed } from '../../nodes/core/wallet';
import { FlowNode, helper, loadFlow, statusTexts } from '../support/nodered';
import { brokerAndRuntime, collect, errorsOf, NODES } from '../support/session-flow';
import { until } from '../support/wait';
import { tempDir } from '../support/temp';

const PREFIX = 'm2m-ev/v1';

/**
 * Two stations and a vehicle in one runtime, each device with its own broker connection, as three Pis would have.
 * The stations' connections publish an empty retained offer as their Close and Last Will messages.
 */
function siteFlow(port: number): FlowNode[] {
  const dataDir = tempDir('m2m-site-');
  const broker = (id: string, station?: string): FlowNode => ({
    id, type: 'mqtt-broker', broker: '127.0.0.1', port: String(port), clientid: '', protocolVersion: '4', keepalive: '60', cleansession: true,
    ...(station ? { closeTopic: `${PREFIX}/${station}/offer`, closePayload: '', closeRetain: 'true', closeQos: '1', willTopic: `${PREFIX}/${station}/offer`, willPayload: '', willRetain: 'true', willQos: '1' } : {}),
  });
  const mqttIn = (id: string, brokerId: string, topic: string, wires: string[]) => ({ id, z: 'tab', type: 'mqtt in', broker: brokerId, topic, qos: '0', datatype: 'utf8', wires: [wires] });
  const station = (n: string, terms: Record<string, string>): FlowNode[] => [
    broker(`broker-${n}`, n),
    { id: `wallet-${n}`, type: 'iota-wallet', tangle: 'tangle', security: '1', devFunding: '100' },
    { id: `party-${n}`, type: 'charging-party', role: 'station', partyId: n, wallet: `wallet-${n}`, prefix: PREFIX, dataDir, incrementWh: '10', creditWh: '10', stationDeposit: '0', maxDepth: '8', ...terms },
    mqttIn(`in-${n}`, `broker-${n}`, `${PREFIX}/${n}/+/station`, [`open-${n}`, `pay-${n}`, `settle-${n}`]),
    { id: `open-${n}`, z: 'tab', type: 'flash-channel-open', party: `party-${n}`, wires: [[`out-${n}`], [`events-${n}`]] },
    { id: `pay-${n}`, z: 'tab', type: 'pay-increment', party: `party-${n}`, wires: [[`out-${n}`], [`events-${n}`]] },
    { id: `settle-${n}`, z: 'tab', type: 'channel-settle', party: `party-${n}`, wires: [[`out-${n}`], [`events-${n}`]] },
    { id: `out-${n}`, z: 'tab', type: 'mqtt out', broker: `broker-${n}`, topic: '', qos: '', retain: '' },
    { id: `events-${n}`, z: 'tab', type: 'helper' },
  ];
  return [
    { id: 'tab', type: 'tab' },
    { id: 'tangle', type: 'iota-tangle', mode: 'embedded', dataDir: '', mwm: '5', depth: '3', milestoneInterval: '0', dev: true, powWorkers: '1' },
    // ST1: cheap and slow, 1.2 km north. ST2: dear and fast, 300 m south; it takes channels no deeper than 1, so
    // it refuses this vehicle.
    ...station('ST1', { pricePerKWh: '100', maxPowerW: '11000', latitude: '47.08079', longitude: '15.44' }),
    ...station('ST2', { pricePerKWh: '200', maxPowerW: '22000', latitude: '47.0673', longitude: '15.44', maxDepth: '1' }),
    broker('broker-v'),
    { id: 'wallet-v', type: 'iota-wallet', tangle: 'tangle', security: '1', devFunding: '100' },
    {
      id: 'party-v', type: 'charging-party', role: 'vehicle', partyId: 'EV1', stationId: '', wallet: 'wallet-v', prefix: PREFIX, dataDir,
      maxPricePerKWh: '200', deposit: '40', maxStationDeposit: '0', targetWh: '20', maxPowerW: '22000', maxDepth: '8', autoStart: true,
      strategy: 'fastest', latitude: '47.07', longitude: '15.44', choiceWindow: '1',
    },
    // One subscription to every station's topics: each stage node takes what is addressed to it.
    mqttIn('in-v', 'broker-v', `${PREFIX}/#`, ['open-v', 'pay-v', 'settle-v']),
    { id: 'open-v', z: 'tab', type: 'flash-channel-open', party: 'party-v', wires: [['out-v'], ['events-v']] },
    { id: 'pay-v', z: 'tab', type: 'pay-increment', party: 'party-v', wires: [['out-v'], ['events-v']] },
    { id: 'settle-v', z: 'tab', type: 'channel-settle', party: 'party-v', wires: [['out-v'], ['events-v']] },
    { id: 'out-v', z: 'tab', type: 'mqtt out', broker: 'broker-v', topic: '', qos: '', retain: '' },
    { id: 'events-v', z: 'tab', type: 'helper' },
  ];
}

/** The retained offers on the broker: subscribes, then sends a marker after which no retained message can come. */
async function retainedOffers(port: number): Promise<string[]> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
  try {
    const seen: string[] = [];
    let marked = false;
    client.on('message', (topic, payload, packet) => {
      if (topic === `${PREFIX}/marker/offer`) marked = true;
      else if (packet.retain && payload.length > 0) seen.push(topic);
    });
    await client.subscribeAsync(`${PREFIX}/+/offer`, { qos: 1 });
    await client.publishAsync(`${PREFIX}/marker/offer`, 'marker', { qos: 1 });
    await until(() => marked, 'the marker');
    return seen.sort();
  } finally {
    await client.endAsync();
  }
}

describe('nodes: a vehicle chooses between two stations through the core MQTT nodes and a broker', function () {
  const context = brokerAndRuntime();

  it('tries the fastest station, which refuses, charges at the next, and the stations withdraw their offers when they stop', async function () {
    await loadFlow(NODES, siteFlow(context.broker.port), { 'wallet-ST1': { seed: generateSeed() }, 'wallet-ST2': { seed: generateSeed() }, 'wallet-v': { seed: generateSeed() } });
    const st1 = collect('events-ST1');
    const vehicle = collect('events-v');
    await until(() => st1.some((m) => m.topic === 'opened'), 'the channel with ST1 to open');

    const choices: Choice[] = vehicle.filter((m) => m.topic === 'choice').map((m) => m.payload);
    assert.deepEqual(choices.map((c) => c.chosen), ['ST2', 'ST1']);
    for (const m of vehicle.filter((m) => m.topic === 'choice')) assert.deepEqual([m.party, m.payload.strategy], ['EV1', 'fastest'], 'each choice names its vehicle and its policy');
    assert.equal(choices[0].text, 'chose ST2: 200 i/kWh, 22 kW, 301 m');
    assert.match(choices[1].text, /^chose ST1: 100 i\/kWh, 11 kW, 1\.2 km; skipped ST2: refused \(channel depth \d+ exceeds 1\)$/);
    const statuses = statusTexts(helper.getNode('open-v'));
    assert.ok(statuses.includes(choices[1].text), `the node's status tells the choice: ${statuses.join(' | ')}`);

    // ST1's meter: its first reading starts the session's count, then 10 Wh a reading, each paid before the next,
    // until the vehicle's 20 Wh target stops the session.
    const pay = helper.getNode('pay-ST1');
    const read = (registerWh: number) => pay.receive({ payload: { registerWh, timestamp: Date.now(), source: 'test' } } as never);
    const stopped = () => st1.some((m) => m.topic === 'stopping');
    read(1000);
    for (let paid = 1; !stopped(); paid++) {
      read(1000 + paid * 10);
      await until(() => vehicle.filter((m) => m.topic === 'paid').length >= paid || stopped(), 'the payment');
    }
    await until(() => st1.some((m) => m.topic === 'settled') && vehicle.some((m) => m.topic === 'settled'), 'settlement');
    const record: SessionRecord = vehicle.find((m) => m.topic === 'settled')!.payload;
    assert.equal(record.station_id, 'ST1');
    assert.equal(record.total_cost.excl_vat, (record.energy_wh * 100) / 1000, 'at ST1\'s price');
    assert.deepEqual(errorsOf(['open-v', 'pay-v', 'settle-v', 'open-ST1', 'pay-ST1', 'settle-ST1']), []);

    assert.deepEqual(await retainedOffers(context.broker.port), [`${PREFIX}/ST1/offer`, `${PREFIX}/ST2/offer`]);
    await helper.unload();
    assert.deepEqual(await retainedOffers(context.broker.port), [], 'both stations withdrew their offers when they stopped');
  });
});
