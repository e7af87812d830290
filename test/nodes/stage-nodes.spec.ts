import assert from 'node:assert/strict';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { FlowNode, helper, loadFlow, startedParty, statusTexts } from '../support/nodered';
import { stationNodes, stubWalletNode } from '../support/station';
import { until, valueOf } from '../support/wait';
import chargingParty = require('../../nodes/charging-party');
import flashChannelOpen = require('../../nodes/flash-channel-open');
import payIncrement = require('../../nodes/pay-increment');
import channelSettle = require('../../nodes/channel-settle');
import type { ChargingPartyNode } from '../../nodes/types';

const NODES = [stubWalletNode, chargingParty, flashChannelOpen, payIncrement, channelSettle];

interface Output {
  protocol: NodeMessage[];
  events: NodeMessage[];
  caught: (NodeMessage & { error: { message: string } })[];
}

const STAGES = ['open', 'pay', 'settle'];

/** A station (no Tangle needed) with the three stage nodes, each output wired to a helper, and a catch node. */
async function stationFlow(extra: FlowNode[] = []): Promise<FlowNode[]> {
  return [
    { id: 'tab', type: 'tab' },
    ...(await stationNodes({ partyId: 'ST7' })).map((n) => ({ ...n })),
    ...STAGES.map((stage) => ({
      id: stage,
      z: 'tab',
      type: { open: 'flash-channel-open', pay: 'pay-increment', settle: 'channel-settle' }[stage] as string,
      party: 'p1',
      wires: [[`${stage}-protocol`], [`${stage}-events`]],
    })),
    ...STAGES.flatMap((stage) => [
      { id: `${stage}-protocol`, z: 'tab', type: 'helper' },
      { id: `${stage}-events`, z: 'tab', type: 'helper' },
    ]),
    { id: 'c1', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'tab', type: 'helper' },
    ...extra,
  ];
}

/** A started station of stationFlow, with its outputs and what its catch node caught collected. */
async function station(extra: FlowNode[] = []): Promise<Record<string, Output>> {
  const outputs: Record<string, Output> = {};
  const caught: Output['caught'] = [];
  await loadFlow(NODES, await stationFlow(extra));
  for (const stage of STAGES) {
    outputs[stage] = { protocol: [], events: [], caught };
    helper.getNode(`${stage}-protocol`).on('input', (msg: NodeMessage) => outputs[stage].protocol.push(msg));
    helper.getNode(`${stage}-events`).on('input', (msg: NodeMessage) => outputs[stage].events.push(msg));
  }
  helper.getNode('caught').on('input', (msg: NodeMessage) => caught.push(msg as Output['caught'][number]));
  await startedParty('p1');
  return outputs;
}

const statusesOf = (id: string) => statusTexts(helper.getNode(id));

describe('nodes: flash-channel-open, pay-increment and channel-settle on their own', function () {
  before(() => helper.startServer());
  after(() => helper.stopServer());
  afterEach(() => helper.unload());

  it('publishes the station’s offer, retained, on the open node’s first output', async function () {
    const out = await station();
    const offer = await valueOf(() => out.open.protocol[0], 'the offer');
    assert.equal(offer.topic, 'm2m-ev/v1/ST7/offer');
    assert.equal((offer as NodeMessage & { retain: boolean; qos: number }).retain, true);
    assert.equal((offer as NodeMessage & { qos: number }).qos, 1);
    assert.deepEqual((offer.payload as { type: string; body: { stationId: string } }).type, 'offer');
    assert.equal((offer.payload as { body: { stationId: string } }).body.stationId, 'ST7');
    assert.ok(statusesOf('open').includes('flash-channel-open.status.idle-station'));
  });

  it('refuses, as errors a catch node sees, inputs a node does not take', async function () {
    const out = await station();
    helper.getNode('open').receive({ payload: 'dance' } as never);
    helper.getNode('pay').receive({ payload: { registerWh: 1.5 } } as never);
    helper.getNode('settle').receive({ payload: 'go' } as never);
    helper.getNode('pay').receive({ topic: 'm2m-ev/v1/ST7/pay/station', payload: '{"v":2}' } as never);
    const caught = await valueOf(() => (out.open.caught.length >= 4 ? out.open.caught : undefined), 'four errors');
    const bySource = (id: string) => caught.filter((m) => (m.error as { source?: { id: string } }).source?.id === id).map((m) => m.error.message.replace(/^\w*Error: /, '')).sort();
    assert.deepEqual(bySource('open'), ['flash-channel-open.errors.unknown-command']);
    assert.deepEqual(bySource('settle'), ['channel-settle.errors.unknown-command']);
    assert.equal(bySource('pay').length, 2);
    assert.ok(bySource('pay').includes('pay-increment.errors.not-a-reading'));
    assert.ok(bySource('pay').some((m) => /^protocol version 2 is not supported/.test(m)));
    assert.ok(statusesOf('pay').includes('pay-increment.status.error'));
  });

  it('ignores MQTT messages addressed to another stage, the vehicle or another station, so that one wildcard mqtt in feeds all three', async function () {
    const out = await station([
      { id: 'done', z: 'tab', type: 'complete', scope: ['open', 'pay', 'settle'], uncaught: false, wires: [['completed']] },
      { id: 'completed', z: 'tab', type: 'helper' },
    ]);
    let completed = 0;
    helper.getNode('completed').on('input', () => completed++);
    const others = ['m2m-ev/v1/ST7/pay/station', 'm2m-ev/v1/ST7/open/vehicle', 'm2m-ev/v1/ST7/offer', 'm2m-ev/v1/ST8/open/station', 'openevse-1/state'];
    for (const topic of others) helper.getNode('open').receive({ topic, payload: '{"v":2}' } as never);
    await until(() => completed === others.length, 'every message handled');
    assert.deepEqual(out.open.caught, [], 'none of them reached the session');

    // Its own topic does: a bad message there is refused.
    helper.getNode('open').receive({ topic: 'm2m-ev/v1/ST7/open/station', payload: '{"v":2}' } as never);
    const refused = await valueOf(() => out.open.caught[0], 'the refusal');
    assert.match(refused.error.message, /protocol version 2 is not supported/);
  });

  it('takes meter readings and a stop without a session quietly', async function () {
    // A complete node reports each input the two nodes have finished with.
    const out = await station([
      { id: 'done', z: 'tab', type: 'complete', scope: ['pay', 'settle'], uncaught: false, wires: [['completed']] },
      { id: 'completed', z: 'tab', type: 'helper' },
    ]);
    let completed = 0;
    helper.getNode('completed').on('input', () => completed++);
    helper.getNode('pay').receive({ payload: { registerWh: 1000, timestamp: Date.now() } } as never);
    helper.getNode('settle').receive({ payload: 'stop' } as never);
    await until(() => completed === 2, 'both inputs handled');
    assert.deepEqual(out.pay.caught, []);
    assert.deepEqual(out.pay.protocol, [], 'no claim without a session');
  });

  it('adds no listener to a party that starts after its stage nodes closed, and sends nothing then', async function () {
    // A wallet that opens only when the test says: the party cannot start before.
    let openWallet!: () => void;
    const walletOpened = new Promise<void>((resolve) => (openWallet = resolve));
    function heldWalletNode(RED: NodeAPI): void {
      RED.nodes.registerType('iota-wallet', function (this: Node & { wallet: Promise<unknown> }, def: NodeDef) {
        RED.nodes.createNode(this, def);
        this.wallet = walletOpened.then(() => ({ security: 1, balance: async () => ({ total: 0, addresses: [] }) }));
      } as never);
    }
    await loadFlow([heldWalletNode, ...NODES.slice(1)], await stationFlow());
    const parties = (helper.getNode('p1') as ChargingPartyNode).parties;
    const stageNodes = STAGES.map((id) => helper.getNode(id));
    // The helper's spies go when it unloads: these count what the nodes send or show from now on.
    const late: string[] = [];
    for (const node of stageNodes) {
      node.send = () => void late.push(`${node.id} sent`);
      node.status = () => void late.push(`${node.id} status`);
    }
    // The party starts once all three stage nodes have closed; the party node's close waits for it.
    let stillOpen = stageNodes.length;
    for (const node of stageNodes) node.on('close', () => --stillOpen === 0 && openWallet());
    await helper.unload();

    const [party] = (await parties).values();
    // Every event one of the three nodes forwards or shows.
    const events = ['offer', 'choice', 'opened', 'phase', 'clock', 'claim', 'paid', 'energy', 'stopping', 'settled', 'unpaid', 'old-state'];
    assert.deepEqual(events.map((event) => party.listenerCount(event)), events.map(() => 0), 'no stage node listens to the party');
    assert.deepEqual(late, [], 'no status and no message after close');
  });

  it('reports a missing charging party on every input', async function () {
    const caught: NodeMessage[] = [];
    await loadFlow(NODES, [
      { id: 'tab', type: 'tab' },
      { id: 'lonely', z: 'tab', type: 'pay-increment', party: 'nope', wires: [[], []] },
      { id: 'c1', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'tab', type: 'helper' },
    ]);
    helper.getNode('caught').on('input', (msg: NodeMessage) => caught.push(msg));
    helper.getNode('lonely').receive({ payload: { registerWh: 1 } } as never);
    const msg = await valueOf(() => caught[0] as (NodeMessage & { error: { message: string } }) | undefined, 'the error');
    assert.equal(msg.error.message.replace(/^Error: /, ''), 'pay-increment.errors.no-party');
    assert.ok(statusesOf('lonely').includes('pay-increment.status.no-party'));
  });
});
