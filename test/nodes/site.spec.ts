import assert from 'node:assert/strict';
import path from 'node:path';
import type { SiteSnapshot } from '../../nodes/core/site';
import { generateSeed } from '../../nodes/core/wallet';
import { FlowNode, helper, loadFlow, statusTexts } from '../support/nodered';
import { brokerAndRuntime, collect, errorsOf, NODES } from '../support/session-flow';
import { until } from '../support/wait';
import sessionRecords = require('../../nodes/session-records');
import { tempDir } from '../support/temp';

const CONNECTORS = ['ST1-1', 'ST1-2', 'ST1-3'];

/**
 * One station with three connectors on a 16 A site (one charging-party, one set of stage nodes, one evse-control,
 * one meter-in, wildcard subscriptions), and three vehicles, each at one connector, through the core MQTT nodes.
 */
function siteFlow(brokerPort: number, vehicles = 3): FlowNode[] {
  const dataDir = tempDir('m2m-site-');
  const mqttIn = (id: string, topic: string, wires: string[]) => ({ id, z: 'tab', type: 'mqtt in', broker: 'broker', topic, qos: '0', datatype: 'json', wires: [wires] });
  const vehicle = (n: number): FlowNode[] => {
    const topics = `m2m-ev/v1/ST1-${n}`;
    return [
      { id: `wallet-v${n}`, type: 'iota-wallet', tangle: 'tangle', security: '1', devFunding: '100' },
      {
        id: `party-v${n}`, type: 'charging-party', role: 'vehicle', partyId: `EV${n}`, stationId: `ST1-${n}`, wallet: `wallet-v${n}`, prefix: 'm2m-ev/v1', dataDir,
        maxPricePerKWh: '200', deposit: '40', maxStationDeposit: '100', targetWh: '20', maxPowerW: '100000', maxDepth: '8', autoStart: true,
      },
      mqttIn(`in-offer-v${n}`, `${topics}/offer`, [`open-v${n}`]),
      mqttIn(`in-open-v${n}`, `${topics}/open/vehicle`, [`open-v${n}`]),
      mqttIn(`in-pay-v${n}`, `${topics}/pay/vehicle`, [`pay-v${n}`]),
      mqttIn(`in-settle-v${n}`, `${topics}/settle/vehicle`, [`settle-v${n}`]),
      { id: `open-v${n}`, z: 'tab', type: 'flash-channel-open', party: `party-v${n}`, wires: [['out'], ['events-v']] },
      { id: `pay-v${n}`, z: 'tab', type: 'pay-increment', party: `party-v${n}`, wires: [['out'], ['events-v']] },
      { id: `settle-v${n}`, z: 'tab', type: 'channel-settle', party: `party-v${n}`, wires: [['out'], ['events-v']] },
    ];
  };
  return [
    { id: 'tab', type: 'tab' },
    { id: 'broker', type: 'mqtt-broker', broker: '127.0.0.1', port: String(brokerPort), clientid: '', protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'tangle', type: 'iota-tangle', mode: 'embedded', dataDir: '', mwm: '5', depth: '3', milestoneInterval: '0', dev: true, powWorkers: '1' },
    { id: 'wallet-s', type: 'iota-wallet', tangle: 'tangle', security: '1', devFunding: '200' },
    {
      id: 'party-s', type: 'charging-party', role: 'station', partyId: 'ST1', wallet: 'wallet-s', prefix: 'm2m-ev/v1', dataDir,
      pricePerKWh: '100', incrementWh: '10', maxPowerW: '100000', creditWh: '10', stationDeposit: '0', maxDepth: '8', connectors: '3', siteLimitA: '16',
    },
    // One subscription for every connector's messages to the station: the stage nodes route them by topic.
    mqttIn('in-s', 'm2m-ev/v1/+/+/station', ['open-s', 'pay-s', 'settle-s']),
    { id: 'open-s', z: 'tab', type: 'flash-channel-open', party: 'party-s', wires: [['out'], ['events-s', 'records-s']] },
    { id: 'pay-s', z: 'tab', type: 'pay-increment', party: 'party-s', wires: [['out'], ['events-s', 'records-s']] },
    { id: 'settle-s', z: 'tab', type: 'channel-settle', party: 'party-s', wires: [['out'], ['events-s', 'records-s']] },
    { id: 'records-s', z: 'tab', type: 'session-records', role: 'station', file: path.join(dataDir, 'records'), evseUid: '', connectorId: '', wires: [['records-out'], []] },
    { id: 'records-out', z: 'tab', type: 'helper' },
    { id: 'evse-s', z: 'tab', type: 'evse-control', party: 'party-s', driver: 'simulated', maxCurrentA: '16', volts: '230', phases: '3', autoPlug: true, vehicleTargetWh: '0', watchdog: '30', wires: [['evse-status'], []] },
    { id: 'meter-s', z: 'tab', type: 'meter-in', source: 'simulated', party: 'party-s', interval: '0.3', wires: [['pay-s']] },
    { id: 'out', z: 'tab', type: 'mqtt out', broker: 'broker', topic: '', qos: '', retain: '' },
    { id: 'events-s', z: 'tab', type: 'helper' },
    { id: 'events-v', z: 'tab', type: 'helper' },
    { id: 'evse-status', z: 'tab', type: 'helper' },
    ...[1, 2, 3].slice(0, vehicles).flatMap(vehicle),
  ];
}

const seeds = (...wallets: string[]) => Object.fromEntries(wallets.map((id) => [id, { seed: generateSeed() }]));

/** Sends a message into a node, as a wire would. */
const inject = (id: string, msg: Record<string, unknown>) => helper.getNode(id).receive(msg as never);

describe('nodes: a station with three connectors on a shared 16 A site budget, one flow', function () {
  const context = brokerAndRuntime();
  afterEach(() => helper.unload());

  it('routes each connector by its topic, queues the third for power, and settles a session on every connector', async function () {
    this.timeout(240_000);
    await loadFlow([...NODES, sessionRecords], siteFlow(context.broker.port), seeds('wallet-s', 'wallet-v1', 'wallet-v2', 'wallet-v3'));
    const station = collect('events-s');
    const vehicles = collect('events-v');
    const evse = collect('evse-status');
    const records = collect('records-out');
    const sites = () => evse.filter((m) => m.topic === 'site').map((m) => m.payload as SiteSnapshot);
    const settledAt = (connector: string) => station.some((m) => m.topic === 'settled' && m.connector === connector);
    const vehiclesSettled = () => vehicles.filter((m) => m.topic === 'settled').length;
    await until(() => CONNECTORS.every(settledAt) && vehiclesSettled() >= 3, 'a settled session on every connector, on both sides', 200_000);

    // Every station event names its connector, and every event and charger status its station; each connector had a
    // session of its own.
    assert.ok(station.filter((m) => m.topic !== 'wallet').every((m) => CONNECTORS.includes(m.connector as string)));
    assert.deepEqual([...new Set([...station, ...evse].map((m) => m.party))], ['ST1']);
    const sessions = new Set(station.filter((m) => m.topic === 'settled').map((m) => m.payload.session_id as string));
    assert.ok(sessions.size >= 3);
    // The budget: never more than 16 A, 6 A or more for each charging connector, and a connector that waited.
    assert.ok(sites().length > 0);
    for (const site of sites()) {
      assert.ok(site.allocatedA <= 16, `${site.allocatedA} A`);
      for (const c of site.connectors.filter((c) => c.state === 'charging')) assert.ok(c.currentA >= 6);
    }
    const twoAtEight = (site: SiteSnapshot) => site.connectors.filter((c) => c.state === 'charging' && c.currentA === 8).length === 2;
    assert.ok(sites().some((site) => twoAtEight(site) && site.connectors.some((c) => c.state === 'queued')), 'two charged at 8 A while the third waited');
    const statuses = evse.filter((m) => m.topic === 'evse');
    assert.ok(statuses.every((m) => CONNECTORS.includes(m.connector as string)), 'every charger status names its connector');
    assert.ok(Math.max(...statuses.map((m) => m.payload.offeredCurrentA as number)) <= 16);
    // The records name the connector of each session.
    const settledRecords = records.filter((m) => m.topic === 'settled').map((m) => (m as unknown as { record: { cdr_location: { id: string; connector_id: string } } }).record);
    assert.ok(settledRecords.length >= 3);
    for (const r of settledRecords) assert.equal(r.cdr_location.connector_id, r.cdr_location.id);
    // The charger node's status tells the site at a glance.
    const texts = statusTexts(helper.getNode('evse-s'));
    assert.ok(texts.includes('evse-control.status.site'), texts.slice(-5).join(' | '));
    assert.deepEqual(errorsOf(['records-s', 'party-s', 'open-s', 'pay-s', 'settle-s', 'evse-s', 'meter-s']), []);
  });

  it('takes a new site limit, commands for one connector or for all, and refuses an unknown connector', async function () {
    await loadFlow([...NODES, sessionRecords], siteFlow(context.broker.port, 0), seeds('wallet-s'));
    const evse = collect('evse-status');
    const last = (check: (m: (typeof evse)[number]) => boolean) => [...evse].reverse().find(check);
    inject('evse-s', { payload: { siteLimitA: 12 } });
    await until(() => (last((m) => m.topic === 'site')?.payload as SiteSnapshot | undefined)?.limitA === 12, 'the new site limit');
    const paused = (connector: string) => (last((m) => m.topic === 'evse' && m.connector === connector)?.payload.pauseReasons as string[] | undefined)?.includes('remote');
    inject('evse-s', { payload: 'pause', connector: 'ST1-2' });
    await until(() => paused('ST1-2') === true, 'ST1-2 paused');
    assert.ok(!paused('ST1-1') && !paused('ST1-3'), 'only ST1-2');
    inject('evse-s', { payload: 'pause' });
    await until(() => CONNECTORS.every((c) => paused(c)), 'a command without a connector goes to all');
    const errors = (id: string) => errorsOf([id]).join('\n');
    inject('evse-s', { payload: 'pause', connector: 'ST1-9' });
    await until(() => errors('evse-s').includes('evse-control.errors.no-connector'), 'the unknown connector refused');
    inject('pay-s', { payload: { registerWh: 5, timestamp: Date.now() } });
    await until(() => errors('pay-s').includes('msg.connector must be one of ST1-1, ST1-2, ST1-3'), 'a reading without its connector refused');
    inject('pay-s', { payload: { registerWh: 5, timestamp: Date.now() }, connector: 'ST1-7' });
    await until(() => errors('pay-s').includes('no connector "ST1-7"'), 'a reading for an unknown connector refused');
  });
});
