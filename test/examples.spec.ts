import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Role, Stage, topicFor } from '../nodes/core/protocol';
import { mqttMatches } from './support/bus';

/**
 * Static checks of the example flows (examples/*.json): each must import into a clean Node-RED that has only this
 * package (and, for the Dashboard demo, Dashboard 2.0) without unknown nodes, and must carry no secret.
 */

const REPO = path.resolve(__dirname, '..', '..');
const EXAMPLES = path.join(REPO, 'examples');
const DASHBOARD_DEMO = 'Dashboard demo.json';
const CHARGING_SITE = 'Charging site.json';
/** The examples with Dashboard 2.0 pages, which need @flowfuse/node-red-dashboard. */
const WITH_DASHBOARD = [DASHBOARD_DEMO, CHARGING_SITE];

type FlowNode = Record<string, unknown> & { id: string; type: string };

const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
const OUR_TYPES = Object.keys(pkg['node-red'].nodes);
const OUR_CONFIG_TYPES = ['iota-tangle', 'iota-wallet', 'charging-party'];

/** The node types an editor HTML file registers: `RED.nodes.registerType('name', ...)`. */
function registeredTypes(dir: string): string[] {
  const types: string[] = [];
  for (const entry of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.html')) continue;
    const html = fs.readFileSync(path.join(dir, entry), 'utf8');
    for (const match of html.matchAll(/registerType\(\s*["']([^"']+)["']/g)) types.push(match[1]);
  }
  return types;
}

/** Node-RED's core nodes, read from its own @node-red/nodes package. */
const coreNodesDir = path.join(
  path.dirname(require.resolve('@node-red/nodes/package.json', { paths: [path.dirname(require.resolve('node-red/package.json'))] })),
  'core',
);
const CORE_TYPES = registeredTypes(coreNodesDir);
const DASHBOARD_TYPES = registeredTypes(path.dirname(require.resolve('@flowfuse/node-red-dashboard/package.json')));

/** Properties that name a configuration node, and the type that node must have. */
const CONFIG_REFERENCES: Record<string, string> = {
  broker: 'mqtt-broker',
  tangle: 'iota-tangle',
  wallet: 'iota-wallet',
  party: 'charging-party',
  group: 'ui-group',
  page: 'ui-page',
  ui: 'ui-base',
  theme: 'ui-theme',
};

const STAGE_TYPES = ['flash-channel-open', 'pay-increment', 'channel-settle'];

const files = fs.readdirSync(EXAMPLES).filter((name) => name.endsWith('.json'));
const flows = new Map<string, FlowNode[]>(files.map((name) => [name, JSON.parse(fs.readFileSync(path.join(EXAMPLES, name), 'utf8')) as FlowNode[]]));

describe('examples: the example flows', () => {
  it('are the five documented examples', () => {
    assert.deepEqual([...files].sort(), [CHARGING_SITE, DASHBOARD_DEMO, 'Single-machine demo.json', 'Station pipeline (Raspberry Pi).json', 'Vehicle pipeline (Raspberry Pi).json']);
  });

  it('read the core node types from Node-RED itself', () => {
    // Guards the parsing above: if it found nothing, every type check below would be meaningless.
    for (const type of ['comment', 'debug', 'inject', 'function', 'mqtt in', 'mqtt out', 'mqtt-broker']) assert.ok(CORE_TYPES.includes(type), type);
    for (const type of ['ui-base', 'ui-page', 'ui-group', 'ui-chart', 'ui-text']) assert.ok(DASHBOARD_TYPES.includes(type), type);
  });

  for (const [name, flow] of flows) {
    describe(name, () => {
      it('is one tab that describes the example, then a comment that explains the setup', () => {
        assert.ok(Array.isArray(flow) && flow.length > 0);
        const [tab, readFirst] = flow;
        assert.equal(tab.type, 'tab');
        assert.ok(String(tab.info ?? '').length > 100, 'the tab describes the example');
        assert.equal(flow.filter((node) => node.type === 'tab').length, 1);
        assert.equal(readFirst.type, 'comment');
        assert.ok(String(readFirst.info ?? '').length > 200, 'the first comment explains the setup');
      });

      it('places every flow node on its tab, and only configuration nodes off it', () => {
        const tab = flow[0].id;
        for (const node of flow.slice(1)) {
          const onCanvas = typeof node.x === 'number' && typeof node.y === 'number';
          assert.equal(node.z, onCanvas ? tab : undefined, `${node.type} ${node.id}`);
        }
      });

      it('explains each part in a comment node', () => {
        const comments = flow.filter((node) => node.type === 'comment');
        assert.ok(comments.length >= 2, `${comments.length} comments`);
        for (const comment of comments) assert.ok(String(comment.info ?? '').length > 100, `comment "${comment.name}" says something`);
      });

      it('has unique, fixed 16-hex ids', () => {
        const ids = flow.map((node) => node.id);
        assert.equal(new Set(ids).size, ids.length);
        for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/);
      });

      it('uses only our node types, Node-RED core types, and (the examples with a dashboard only) Dashboard 2.0 types', () => {
        const allowed = new Set(['tab', ...OUR_TYPES, ...CORE_TYPES, ...(WITH_DASHBOARD.includes(name) ? DASHBOARD_TYPES : [])]);
        const unknown = flow.map((node) => node.type).filter((type) => !allowed.has(type));
        assert.deepEqual(unknown, []);
      });

      it('reads every MQTT message as text, which the stage nodes check for size and depth before they parse it', () => {
        const mqttIns = flow.filter((node) => node.type === 'mqtt in');
        assert.ok(mqttIns.length > 0);
        for (const node of mqttIns) assert.equal(node.datatype, 'utf8', node.id);
      });

      it('gives each device one mqtt in, with a wildcard for every topic addressed to it, and one mqtt out with an empty topic', () => {
        const parties = flow.filter((node) => node.type === 'charging-party');
        assert.ok(parties.length > 0);
        for (const party of parties) {
          const stageNodes = flow.filter((node) => STAGE_TYPES.includes(node.type) && node.party === party.id);
          assert.equal(stageNodes.length, 3, `${party.id}: its three stage nodes`);
          const stageIds = stageNodes.map((node) => node.id);
          const wiredTo = (node: FlowNode) => ((node.wires as string[][] | undefined) ?? []).flat();
          const inputs = flow.filter((node) => node.type === 'mqtt in' && wiredTo(node).some((id) => stageIds.includes(id)));
          assert.equal(inputs.length, 1, `${party.id}: one mqtt in`);
          assert.deepEqual([...wiredTo(inputs[0])].sort(), [...stageIds].sort(), 'it feeds all three stage nodes');
          const topic = String(inputs[0].topic);
          assert.match(topic, /[+#]/, 'a wildcard');
          const role = party.role as Role;
          const stages: Stage[] = role === 'vehicle' ? ['offer', 'open', 'pay', 'settle'] : ['open', 'pay', 'settle'];
          for (const stage of stages) {
            const addressed = topicFor(String(party.prefix), String(party.stationId), stage, role);
            assert.ok(mqttMatches(topic, addressed), `${topic} covers ${addressed}`);
          }
          const outputs = new Set(stageNodes.flatMap((node) => (node.wires as string[][])[0]));
          assert.equal(outputs.size, 1, `${party.id}: one mqtt out`);
          const out = flow.find((node) => node.id === [...outputs][0])!;
          assert.deepEqual([out.type, out.topic], ['mqtt out', '']);
        }
      });

      it('never calls a Node-RED over HTTP: what it shows comes out of our nodes as messages', () => {
        const callers = flow.filter((node) => node.type === 'http request' || (node.type === 'function' && /\b(fetch|https?\.request)\(/.test(String(node.func))));
        assert.deepEqual(callers.map((node) => node.id), []);
      });

      it('contains no seed and no credentials', () => {
        for (const node of flow) {
          assert.equal(node.credentials, undefined, node.id);
          assert.equal(node.seed, undefined, node.id);
        }
        assert.doesNotMatch(JSON.stringify(flow), /[9A-Z]{81}/, 'nothing that looks like a seed');
      });

      it('resolves every configuration reference and every wire', () => {
        const byId = new Map(flow.map((node) => [node.id, node]));
        for (const node of flow) {
          for (const [property, type] of Object.entries(CONFIG_REFERENCES)) {
            const target = node[property];
            if (typeof target !== 'string' || target === '') continue;
            if (node.type === 'mqtt-broker' && property === 'broker') continue; // there it is the broker's host name
            assert.equal(byId.get(target)?.type, type, `${node.type} ${node.id}: ${property} → ${target}`);
          }
          for (const output of (node.wires as string[][] | undefined) ?? []) {
            for (const target of output) assert.ok(byId.has(target), `${node.type} ${node.id} is wired to missing ${target}`);
          }
          // A status or catch node watches the nodes it names.
          for (const target of (node.scope as string[] | null | undefined) ?? []) assert.ok(byId.has(target), `${node.type} ${node.id} watches missing ${target}`);
        }
        for (const party of flow.filter((node) => node.type === 'charging-party')) assert.ok(byId.has(party.wallet as string));
      });
    });
  }

  it('name the palette module the examples with a dashboard need, in a comment node and in their description', () => {
    for (const [name, flow] of flows) {
      if (!WITH_DASHBOARD.includes(name)) {
        assert.match(String(flow[0].info), /only this package/, `${name} says it needs nothing else`);
        continue;
      }
      assert.match(String(flow[0].info), /^Needs the palette module @flowfuse\/node-red-dashboard/, name);
      assert.ok(flow.some((node) => node.type === 'comment' && /@flowfuse\/node-red-dashboard/.test(String(node.name))), `${name}: a comment node titled with the module`);
    }
  });

  it('share one dashboard: the same ui-base and ui-theme in every example with a dashboard, so that importing both reuses them', () => {
    const shared = (name: string) => flows.get(name)!.filter((node) => node.type === 'ui-base' || node.type === 'ui-theme');
    const [first, ...others] = WITH_DASHBOARD.map(shared);
    assert.equal(first.length, 2);
    for (const other of others) assert.deepEqual(other, first);
  });

  it('the Charging site lets every vehicle choose its station by a policy, and among them uses each policy', () => {
    const vehicles = flows.get(CHARGING_SITE)!.filter((node) => node.type === 'charging-party' && node.role === 'vehicle');
    assert.ok(vehicles.length >= 4);
    for (const vehicle of vehicles) assert.equal(vehicle.stationId, '', `${String(vehicle.partyId)} is told no station`);
    assert.deepEqual([...new Set(vehicles.map((v) => v.strategy))].sort(), ['cheapest', 'fastest', 'nearest', 'weighted']);
  });

  it('together show every node type of ours that is not a configuration node', () => {
    const used = new Set([...flows.values()].flat().map((node) => node.type));
    const missing = OUR_TYPES.filter((type) => !OUR_CONFIG_TYPES.includes(type) && !used.has(type));
    assert.deepEqual(missing, []);
  });
});
