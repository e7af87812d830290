import assert from 'node:assert/strict';
import type { Node, NodeMessage } from 'node-red';
import { helper, loadFlow, FlowNode } from '../support/nodered';
import { stationNodes, stubWalletNode } from '../support/station';
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

/** A station (no Tangle needed) with the three stage nodes, their outputs and a catch node collected. */
async function station(extra: FlowNode[] = []): Promise<Record<string, Output>> {
  const flow: FlowNode[] = [
    { id: 'tab', type: 'tab' },
    ...(await stationNodes({ partyId: 'ST7' })).map((n) => ({ ...n })),
    ...['open', 'pay', 'settle'].map((stage) => ({
      id: stage,
      z: 'tab',
      type: { open: 'flash-channel-open', pay: 'pay-increment', settle: 'channel-settle' }[stage] as string,
      party: 'p1',
      wires: [[`${stage}-protocol`], [`${stage}-events`]],
    })),
    ...['open', 'pay', 'settle'].flatMap((stage) => [
      { id: `${stage}-protocol`, z: 'tab', type: 'helper' },
      { id: `${stage}-events`, z: 'tab', type: 'helper' },
    ]),
    { id: 'c1', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'tab', type: 'helper' },
    ...extra,
  ];
  const outputs: Record<string, Output> = {};
  const caught: Output['caught'] = [];
  await loadFlow(NODES, flow);
  for (const stage of ['open', 'pay', 'settle']) {
    outputs[stage] = { protocol: [], events: [], caught };
    helper.getNode(`${stage}-protocol`).on('input', (msg: NodeMessage) => outputs[stage].protocol.push(msg));
    helper.getNode(`${stage}-events`).on('input', (msg: NodeMessage) => outputs[stage].events.push(msg));
  }
  helper.getNode('caught').on('input', (msg: NodeMessage) => caught.push(msg as Output['caught'][number]));
  await (helper.getNode('p1') as ChargingPartyNode).party;
  return outputs;
}

async function eventually<T>(get: () => T | undefined | false): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = get();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('timed out');
}

function statusTexts(id: string): string[] {
  const node = helper.getNode(id) as Node & { status: { getCalls(): { thisValue: Node; args: [{ text?: string }] }[] } };
  return node.status.getCalls().filter((c) => c.thisValue.id === id).map((c) => String(c.args[0].text));
}

describe('nodes: flash-channel-open, pay-increment and channel-settle on their own', function () {
  before(() => helper.startServer());
  after(() => helper.stopServer());
  afterEach(() => helper.unload());

  it('publishes the station’s offer, retained, on the open node’s first output', async function () {
    const out = await station();
    const offer = await eventually(() => out.open.protocol[0]);
    assert.equal(offer.topic, 'm2m-ev/v1/ST7/offer');
    assert.equal((offer as NodeMessage & { retain: boolean; qos: number }).retain, true);
    assert.equal((offer as NodeMessage & { qos: number }).qos, 1);
    assert.deepEqual((offer.payload as { type: string; body: { stationId: string } }).type, 'offer');
    assert.equal((offer.payload as { body: { stationId: string } }).body.stationId, 'ST7');
    assert.ok(statusTexts('open').includes('flash-channel-open.status.idle-station'));
  });

  it('refuses, as errors a catch node sees, inputs a node does not take', async function () {
    const out = await station();
    helper.getNode('open').receive({ payload: 'dance' } as never);
    helper.getNode('pay').receive({ payload: { registerWh: 1.5 } } as never);
    helper.getNode('settle').receive({ payload: 'go' } as never);
    helper.getNode('pay').receive({ topic: 'm2m-ev/v1/ST7/pay/station', payload: '{"v":2}' } as never);
    const caught = await eventually(() => out.open.caught.length >= 4 && out.open.caught);
    const bySource = (id: string) => caught.filter((m) => (m.error as { source?: { id: string } }).source?.id === id).map((m) => m.error.message.replace(/^\w*Error: /, '')).sort();
    assert.deepEqual(bySource('open'), ['flash-channel-open.errors.unknown-command']);
    assert.deepEqual(bySource('settle'), ['channel-settle.errors.unknown-command']);
    assert.equal(bySource('pay').length, 2);
    assert.ok(bySource('pay').includes('pay-increment.errors.not-a-reading'));
    assert.ok(bySource('pay').some((m) => /^protocol version 2 is not supported/.test(m)));
    assert.ok(statusTexts('pay').includes('pay-increment.status.error'));
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
    await eventually(() => completed === others.length);
    assert.deepEqual(out.open.caught, [], 'none of them reached the session');

    // Its own topic does: a bad message there is refused.
    helper.getNode('open').receive({ topic: 'm2m-ev/v1/ST7/open/station', payload: '{"v":2}' } as never);
    const refused = await eventually(() => out.open.caught[0]);
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
    await eventually(() => completed === 2);
    assert.deepEqual(out.pay.caught, []);
    assert.deepEqual(out.pay.protocol, [], 'no claim without a session');
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
    const msg = await eventually(() => caught[0] as NodeMessage & { error: { message: string } });
    assert.equal(msg.error.message.replace(/^Error: /, ''), 'pay-increment.errors.no-party');
    assert.ok(statusTexts('lonely').includes('pay-increment.status.no-party'));
  });
});
