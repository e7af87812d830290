import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { PARTY_DEFAULTS } from '../../nodes/support/party-defaults';
import type { ChargingPartyNode } from '../../nodes/types';
import { callsOf, helper, loadFlow } from '../support/nodered';
import { stationNodes, stubWalletNode } from '../support/station';
import chargingParty = require('../../nodes/charging-party');

const REPO = path.resolve(__dirname, '..', '..');

type Defaults = Record<string, { value: unknown; validate?: (this: unknown, v: unknown, opt?: unknown) => unknown }>;

/** The `defaults` a node's editor script registers, run in a sandbox with just enough of RED and jQuery. */
export function editorDefaults(type: string): Defaults {
  const html = fs.readFileSync(path.join(REPO, 'nodes', `${type}.html`), 'utf8');
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)![1];
  let defaults: Defaults | undefined;
  const RED = { nodes: { registerType: (_: string, def: { defaults: Defaults }) => (defaults = def.defaults) }, _: (key: string) => key };
  const $ = () => ({ val: () => '', on: () => ({ trigger: () => undefined }) });
  vm.runInNewContext(script, { RED, $, window: {} });
  return defaults!;
}

describe('nodes: charging-party defaults', () => {
  const defaults = editorDefaults('charging-party');

  it('are the same in the editor and the runtime, for every setting a flow may leave empty', () => {
    for (const [key, value] of Object.entries(PARTY_DEFAULTS)) {
      assert.ok(key in defaults, `the editor has ${key}`);
      assert.equal(Number(defaults[key].value), value, `${key}: editor ${String(defaults[key].value)}, runtime ${value}`);
    }
  });

  it('accept a flow saved before a setting existed (missing or empty means the default), as a station and as a vehicle', () => {
    for (const role of ['station', 'vehicle']) {
      for (const key of ['fundingWait', 'clockTolerance']) {
        for (const missing of [undefined, '']) assert.equal(defaults[key].validate!.call({ role }, missing, {}), true, `${key} = ${String(missing)} as a ${role}`);
      }
    }
  });

  it('agree with the examples: every station deposits what the default says', () => {
    for (const file of fs.readdirSync(path.join(REPO, 'examples')).filter((f) => f.endsWith('.json'))) {
      const nodes = JSON.parse(fs.readFileSync(path.join(REPO, 'examples', file), 'utf8')) as Record<string, unknown>[];
      for (const node of nodes.filter((n) => n.type === 'charging-party' && n.role === 'station')) {
        assert.equal(Number(node.stationDeposit), PARTY_DEFAULTS.stationDeposit, `${file}: ${String(node.partyId)}`);
      }
    }
  });
});

describe('nodes: charging-party with a Station key but no Station id', function () {
  const KEY = 'A'.repeat(43);
  before(() => helper.startServer());
  after(() => helper.stopServer());
  afterEach(() => helper.unload());

  it('is marked invalid in the editor, and takes the key once a Station id is set', function () {
    const { stationKey } = editorDefaults('charging-party');
    const vehicle = (stationId: string) => ({ role: 'vehicle', stationId });
    const refused = '@m2m-ev/node-red-flash-charging/charging-party:charging-party.errors.key-without-station';
    assert.equal(stationKey.validate!.call(vehicle(''), KEY, {}), refused);
    assert.equal(stationKey.validate!.call(vehicle(' '), KEY, {}), refused);
    assert.equal(stationKey.validate!.call(vehicle('ST1'), KEY, {}), true);
    assert.equal(stationKey.validate!.call(vehicle(''), '', {}), true, 'no key: it chooses among stations');
  });

  it('does not start, and says why on the node', async function () {
    const flow = await stationNodes({ partyId: 'EV1', role: 'vehicle' });
    await loadFlow([stubWalletNode, chargingParty], flow.map((node) => (node.id === 'p1' ? { ...node, stationId: '', stationKey: KEY } : node)));
    const partyNode = helper.getNode('p1') as ChargingPartyNode;
    await assert.rejects(partyNode.parties, { message: 'charging-party.errors.key-without-station' });
    assert.deepEqual(callsOf(partyNode, 'error').map(([text]) => text), ['charging-party.errors.start']);
  });
});
