import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { FlowNode } from '../support/nodered';
import { devNodeRed, exampleFiles, freePort, installedPackage, launchChromium, Mosquitto, MODULE, NodeRed, nodeRed5, NodeRedRuntime, OUTPUT_DIR } from '../support/real-nodered';

/**
 * The editor as a user meets it, on both Node-RED majors we support: Node-RED 4 (the dev dependency, on this
 * Node.js) and Node-RED 5 on Node.js 22 (what a fresh Raspberry Pi gets). In headless Chromium, each example is
 * imported as Import → Examples serves it, and as version 0.1.0 shipped it (test/fixtures/flows-0.1.0: flows
 * saved before later properties existed); every node's edit dialog opens and cancels; and the single-machine
 * demo, as imported, with seeds made by the wallet dialog's Generate button, deploys and settles a session.
 */

const repoRoot = path.resolve(__dirname, '../../..');
const LEGACY_DIR = path.join(repoRoot, 'test', 'fixtures', 'flows-0.1.0');
const SINGLE_MACHINE_DEMO = 'Single-machine demo';

const EDITORS: { major: string; runtime: () => Promise<NodeRedRuntime> }[] = [
  { major: '4', runtime: async () => devNodeRed() },
  { major: '5', runtime: nodeRed5 },
];

/** A node the editor does not accept: of an unknown type, or invalid (the red triangle), with the editor's reasons. */
interface Problem {
  type: string;
  name: string;
  problem: string;
}

for (const editor of EDITORS) {
  describe(`e2e: the editor of Node-RED ${editor.major}, in headless Chromium`, function () {
    let runtime: NodeRedRuntime;
    let nodeRed: NodeRed;
    let context: BrowserContext;
    let page: Page;
    const pageErrors: string[] = [];

    before(async function () {
      this.timeout(300_000);
      runtime = await editor.runtime();
      nodeRed = await NodeRed.start(`editor-nr${editor.major}`, await installedPackage(), { runtime });
      context = await launchChromium({ width: 1400, height: 900 });
      page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
      await openEditor(page, nodeRed.url);
    });
    after(async function () {
      await context?.close();
      nodeRed?.saveLog();
      await nodeRed?.stop();
    });
    afterEach(function () {
      assert.deepEqual(pageErrors.splice(0), [], 'no error in the editor page');
    });

    it(`runs the Node-RED ${editor.major} we mean`, async function () {
      const settings = await nodeRed.json<{ version: string }>('/settings');
      assert.equal(settings.version.split('.')[0], editor.major, runtime.label);
      assert.doesNotMatch(nodeRed.log, /\[(error|warn)\].*(m2m-ev|flash-charging)/, 'Node-RED reported no problem with the package');
    });

    it("shows each of our nodes in the palette on one line, as high as Node-RED's own inject node", async function () {
      const heights = await page.evaluate((module) => {
        const height = (type: string) => document.querySelector(`.red-ui-palette-node[data-palette-type="${type}"]`)?.getBoundingClientRect().height ?? 0;
        const ours: Record<string, number> = {};
        for (const type of ['flash-channel-open', 'pay-increment', 'channel-settle', 'meter-in', 'evse-control', 'session-records']) {
          if (RED.nodes.registry.getNodeSetForType(type)?.module === module) ours[type] = height(type);
        }
        return { inject: height('inject'), ours };
      }, MODULE);
      assert.ok(heights.inject > 0, 'the inject node is in the palette');
      const wrapped = Object.entries(heights.ours).filter(([, height]) => height !== heights.inject);
      assert.deepEqual(wrapped, [], `labels on more than one line (inject: ${heights.inject} px)`);
      assert.equal(Object.keys(heights.ours).length, 6);
    });

    it('imports every example as Import → Examples serves it, with no unknown and no invalid node, each on its own tab', async function () {
      this.timeout(120_000);
      for (const name of exampleFiles().map((f) => f.replace(/\.json$/, ''))) {
        const flow = await nodeRed.json<FlowNode[]>(`/library/examples/flows/${MODULE}/${encodeURIComponent(name)}`);
        const imported = await importFlow(page, flow);
        assert.deepEqual(imported.problems, [], `${name}: no unknown or invalid node`);
        assert.equal(imported.tabs, 1, `${name} comes on a tab of its own`);
        assert.deepEqual(imported.offTab, [], `${name}: every flow node is on that tab`);
      }
      fs.mkdirSync(OUTPUT_DIR, { recursive: true });
      await page.screenshot({ path: path.join(OUTPUT_DIR, `editor-nr${editor.major}-examples.png`) });
    });

    it('imports the examples as 0.1.0 shipped them (flows saved before later properties existed) with no invalid node', async function () {
      this.timeout(120_000);
      const files = fs.readdirSync(LEGACY_DIR).filter((f) => f.endsWith('.json'));
      assert.equal(files.length, 4);
      for (const file of files) {
        const imported = await importFlow(page, JSON.parse(fs.readFileSync(path.join(LEGACY_DIR, file), 'utf8')));
        assert.deepEqual(imported.problems, [], `${file}: no unknown or invalid node`);
      }
    });

    it("opens and cancels the edit dialog of every distinct node of ours in the examples, and of one node of each other type", async function () {
      this.timeout(300_000);
      await openEditor(page, nodeRed.url);
      for (const name of exampleFiles().map((f) => f.replace(/\.json$/, ''))) {
        await importFlow(page, await nodeRed.json<FlowNode[]>(`/library/examples/flows/${MODULE}/${encodeURIComponent(name)}`));
      }
      const nodes = await page.evaluate((module) => {
        const chosen: { id: string; type: string; config: boolean }[] = [];
        const seen = new Set<string>();
        // Ours: each node whose settings differ from those of every node before it (the demos share many), its own
        // name and the names of the nodes it uses left out. Other modules' nodes: one of each type.
        const signature = (n: EditorNode) => {
          if (RED.nodes.registry.getNodeSetForType(n.type)?.module !== module) return n.type;
          const settings = Object.keys(n._def.defaults ?? {}).filter((key) => key !== 'name' && !(typeof n[key] === 'string' && RED.nodes.node(n[key] as string)));
          return n.type + JSON.stringify(settings.map((key) => n[key]));
        };
        const choose = (n: EditorNode) => {
          const key = signature(n);
          if (seen.has(key)) return;
          seen.add(key);
          chosen.push({ id: n.id, type: n.type, config: n._def.category === 'config' });
        };
        RED.nodes.eachNode(choose);
        RED.nodes.eachConfig(choose);
        return chosen;
      }, MODULE);
      assert.ok(nodes.filter((n) => n.type === 'charging-party').length >= 4, `the charging parties of the examples, among ${nodes.length} dialogs`);
      for (const node of nodes) {
        await page.evaluate(({ id, type, config }) => (config ? RED.editor.editConfig('', type, id) : RED.editor.edit(RED.nodes.node(id)!)), node);
        // The tray ignores Cancel until it has finished opening; its last step raises the editor stack.
        await page.waitForFunction(() => document.getElementById('red-ui-editor-stack')?.style.zIndex === '13', undefined, { timeout: 30_000, polling: 20 });
        // A code editor in the dialog (a ui-template's) must have drawn its text: closed earlier, Monaco throws.
        await page.waitForFunction(() => Array.from(document.querySelectorAll('.red-ui-tray .node-text-editor') as ArrayLike<{ querySelector(selector: string): unknown }>).every((e) => e.querySelector('.monaco-editor .view-lines') !== null), undefined, { timeout: 30_000, polling: 20 });
        await page.locator(node.config ? '#node-config-dialog-cancel' : '#node-dialog-cancel').click({ timeout: 30_000 });
        await page.waitForFunction(() => document.querySelectorAll('.red-ui-tray').length === 0, undefined, { timeout: 30_000, polling: 20 });
        assert.deepEqual(pageErrors, [], `no page error after the edit dialog of ${node.type} ${node.id}`);
      }
    });

    it('deploys the single-machine demo as imported, seeds generated in the wallet dialogs, and settles a session', async function () {
      this.timeout(300_000);
      const broker = await Mosquitto.start();
      try {
        // A fresh editor, as after a restart: only the demo on the workspace.
        await openEditor(page, nodeRed.url);
        const served = await nodeRed.json<FlowNode[]>(`/library/examples/flows/${MODULE}/${encodeURIComponent(SINGLE_MACHINE_DEMO)}`);
        // What this machine needs instead of the demo's localhost:1883 and 127.0.0.1:14265 (which may be taken).
        const tanglePort = await freePort();
        const flow = served.map((n) => (n.type === 'mqtt-broker' ? { ...n, port: String(broker.port) } : n.type === 'iota-tangle' ? { ...n, port: String(tanglePort) } : n));
        const imported = await importFlow(page, flow);
        assert.deepEqual(imported.problems, []);

        await page.evaluate(() => {
          const settled: unknown[] = ((window as unknown as { m2mSettled: unknown[] }).m2mSettled = []);
          RED.comms.subscribe('debug', (_topic, msg) => {
            if (msg.topic === 'settled') settled.push(msg);
          });
        });
        const wallets = await page.evaluate(() => {
          const found: string[] = [];
          RED.nodes.eachConfig((n) => void (n.type === 'iota-wallet' && found.push(n.id)));
          return found;
        });
        assert.equal(wallets.length, 2);
        for (const wallet of wallets) {
          await page.evaluate((id) => RED.editor.editConfig('', 'iota-wallet', id), wallet);
          await page.locator('#node-config-input-seed-generate').click({ timeout: 30_000 });
          await page.locator('#node-config-dialog-ok').click();
          await page.waitForFunction(() => document.querySelectorAll('.red-ui-tray').length === 0, undefined, { timeout: 30_000, polling: 50 });
        }

        // The statuses as the runtime sends them, on a connection of our own (the editor translates what it shows).
        await page.evaluate((url) => {
          const texts: string[] = ((window as unknown as { m2mStatuses: string[] }).m2mStatuses = []);
          const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/comms`);
          socket.onopen = () => socket.send(JSON.stringify({ subscribe: 'status/#' }));
          socket.onmessage = (event) => {
            for (const message of [JSON.parse(String(event.data))].flat() as { data?: { text?: string } }[]) if (message.data?.text) texts.push(message.data.text);
          };
        }, nodeRed.url);
        const deployedBefore = nodeRed.log.length;
        await page.locator('#red-ui-header-button-deploy').click();
        await page.waitForFunction(() => RED.nodes.dirty() === false, undefined, { timeout: 60_000, polling: 100 });
        await page
          .waitForFunction(() => (window as unknown as { m2mSettled: unknown[] }).m2mSettled.length >= 2, undefined, { timeout: 240_000, polling: 250 })
          .catch(async (err) => {
            await page.screenshot({ path: path.join(OUTPUT_DIR, `editor-nr${editor.major}-demo.png`) });
            throw err;
          });
        await page.screenshot({ path: path.join(OUTPUT_DIR, `editor-nr${editor.major}-demo.png`) });
        const statuses = await page.evaluate(() => (window as unknown as { m2mStatuses: string[] }).m2mStatuses);
        assert.ok(statuses.some((text) => /^paid \d+ Wh/.test(text)), `the runtime's statuses are text: ${statuses.join(' | ')}`);
        // Node-RED's own nodes send namespaced keys (node-red:common.status.connected), which the editor translates.
        assert.deepEqual(statuses.filter((text) => /(?<![\w.:-])[a-z-]+\.[a-z-]+\.[a-z-]+\b/.test(text)), [], 'no status of ours is or holds a message key');
        assert.ok(statuses.includes('stopping: target reached'), `the stop reason is text too: ${statuses.join(' | ')}`);
        const log = nodeRed.log.slice(deployedBefore);
        assert.doesNotMatch(log, /\[error\]/, 'the demo ran without an error in the log');
        const seeds = fs.readFileSync(path.join(nodeRed.userDir, 'flows.json'), 'utf8');
        assert.doesNotMatch(seeds, /[9A-Z]{81}/, 'the generated seeds stay out of flows.json');
      } finally {
        await broker.stop();
      }
    });
  });
}

/** Loads the editor and waits until our node types are registered and the workspace is ready. */
async function openEditor(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => typeof RED !== 'undefined' && RED.nodes?.getType?.('meter-in') !== undefined && RED.workspaces?.count?.() > 0, undefined, { timeout: 60_000 });
}

/**
 * Imports a flow as the editor's Import does (new ids; a flow without a tab goes onto a new one), and reports
 * the imported nodes the editor rejects, how many tabs came in, and any flow node left off a tab.
 */
async function importFlow(page: Page, flow: unknown): Promise<{ problems: Problem[]; tabs: number; offTab: string[] }> {
  return page.evaluate((nodes) => {
    const before = new Set<string>();
    const seen = (n: { id: string }) => void before.add(n.id);
    RED.nodes.eachNode(seen);
    RED.nodes.eachConfig(seen);
    const tabsBefore = RED.workspaces.count();
    const hasTab = (nodes as { type: string }[]).some((n) => n.type === 'tab');
    RED.view.importNodes(nodes, { generateIds: true, addFlow: !hasTab });
    const problems: Problem[] = [];
    const offTab: string[] = [];
    const check = (n: EditorNode) => {
      if (before.has(n.id)) return;
      if (n.type === 'unknown') problems.push({ type: String(n.name), name: '', problem: 'unknown type' });
      else if (!RED.nodes.getType(n.type)) problems.push({ type: n.type, name: n.name ?? '', problem: 'unregistered type' });
      else if (n.valid === false) problems.push({ type: n.type, name: n.name ?? '', problem: `invalid: ${JSON.stringify(n.validationErrors ?? [])}` });
      if (n._def?.category !== 'config' && !n.z) offTab.push(`${n.type} ${n.id}`);
    };
    RED.nodes.eachNode(check);
    RED.nodes.eachConfig((n) => {
      if (before.has(n.id)) return;
      if (n.valid === false) problems.push({ type: n.type, name: n.name ?? '', problem: `invalid: ${JSON.stringify(n.validationErrors ?? [])}` });
    });
    return { problems, tabs: RED.workspaces.count() - tabsBefore, offTab };
  }, flow);
}

interface EditorNode {
  id: string;
  type: string;
  name?: string;
  z?: string;
  valid?: boolean;
  validationErrors?: string[];
  _def: { category?: string; defaults?: Record<string, unknown> };
  [setting: string]: unknown;
}

/** What the tests use of the editor's global API, as it runs in the page. */
declare const RED: {
  nodes: {
    getType(type: string): object | undefined;
    registry: { getNodeSetForType(type: string): { module: string } | undefined };
    node(id: string): EditorNode | null;
    eachNode(cb: (n: EditorNode) => void): void;
    eachConfig(cb: (n: EditorNode) => void): void;
    dirty(): boolean;
  };
  workspaces: { count(): number };
  view: { importNodes(nodes: unknown, options: object): void };
  editor: { edit(node: EditorNode): void; editConfig(name: string, type: string, id: string): void };
  comms: { subscribe(topic: string, cb: (topic: string, msg: { topic?: string }) => void): void };
};
declare const document: {
  querySelectorAll(selector: string): { length: number };
  querySelector(selector: string): { getBoundingClientRect(): { height: number } } | null;
  getElementById(id: string): { style: { zIndex: string } } | null };
declare const window: object;
declare class WebSocket {
  constructor(url: string);
  onopen: () => void;
  onmessage: (event: { data: unknown }) => void;
  send(data: string): void;
}
