import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { generateSeed } from '../../nodes/core/wallet';
import type { FlowNode } from '../support/nodered';
import { exampleFiles, installedPackage, MODULE, NodeRed, OUTPUT_DIR, systemTool, tempDir } from '../support/real-nodered';

const repoRoot = path.resolve(__dirname, '../../..');
const TYPES = ['iota-tangle', 'iota-wallet', 'charging-party', 'flash-channel-open', 'pay-increment', 'channel-settle', 'meter-in', 'evse-control', 'session-records'];
const PALETTE_TYPES = ['flash-channel-open', 'pay-increment', 'channel-settle', 'meter-in', 'evse-control', 'session-records'];

interface NodeSet {
  id: string;
  module: string;
  enabled: boolean;
  err?: string;
  types: string[];
}

/** The first sentence of a node's help text as the repository writes it, whitespace collapsed. */
function firstHelpSentence(type: string): string {
  const html = fs.readFileSync(path.join(repoRoot, 'nodes', 'locales', 'en-US', `${type}.html`), 'utf8');
  const paragraph = /<p>([\s\S]*?)<\/p>/.exec(html)![1];
  const text = paragraph
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
  return text.split(/(?<=[.:])\s/)[0];
}

describe('e2e: the packed package installed in a real Node-RED', function () {
  let nodeRed: NodeRed;

  before(async function () {
    this.timeout(300_000);
    nodeRed = await NodeRed.start('editor', await installedPackage());
  });
  after(async function () {
    nodeRed?.saveLog();
    await nodeRed?.stop();
  });

  it('registers every node type of the package, each set enabled and without error', async function () {
    const sets = (await nodeRed.json<NodeSet[]>('/nodes')).filter((s) => s.module === MODULE);
    assert.deepEqual(sets.flatMap((s) => s.types).sort(), [...TYPES].sort());
    for (const set of sets) {
      assert.equal(set.enabled, true, `${set.id} is enabled`);
      assert.equal(set.err, undefined, `${set.id} loaded without error`);
    }
    assert.doesNotMatch(nodeRed.log, /\[(error|warn)\].*(m2m-ev|flash-charging)/, 'Node-RED reported no problem with the package');
  });

  it("serves each node's editor HTML and help, the icons and the message catalogues", async function () {
    const response = await nodeRed.request('GET', '/nodes', undefined, { Accept: 'text/html' });
    assert.equal(response.status, 200);
    const html = await response.text();
    for (const type of TYPES) {
      assert.ok(html.includes(`registerType('${type}'`), `the editor code of ${type}`);
      assert.ok(html.includes(`data-help-name="${type}"`), `the help of ${type}`);
      assert.ok(html.includes(`data-template-name="${type}"`), `the edit dialog of ${type}`);
    }

    const icons = fs.readdirSync(path.join(repoRoot, 'icons')).filter((f) => f.endsWith('.svg'));
    assert.equal(icons.length, 6);
    for (const icon of icons) {
      const served = await nodeRed.request('GET', `/icons/${MODULE}/${icon}`);
      assert.equal(served.status, 200, icon);
      assert.match(served.headers.get('content-type') ?? '', /^image\/svg\+xml/, icon);
      assert.equal(await served.text(), fs.readFileSync(path.join(repoRoot, 'icons', icon), 'utf8'), `${icon} is the repository's icon`);
    }

    for (const type of TYPES) {
      const catalogue = await nodeRed.json(`/locales/${MODULE}/${type}?lng=en-US`);
      const expected = JSON.parse(fs.readFileSync(path.join(repoRoot, 'nodes', 'locales', 'en-US', `${type}.json`), 'utf8'));
      assert.deepEqual(catalogue, expected, `the message catalogue of ${type}`);
    }
  });

  it('lists every example flow of the repository under Import → Examples', async function () {
    const response = await nodeRed.request('GET', `/library/examples/flows/${MODULE}`, undefined, { Accept: 'application/json' });
    const expected = exampleFiles().map((f) => f.replace(/\.json$/, ''));
    // Node-RED knows no examples of a module that ships none. Flows are listed as { fn }, folders by name.
    const entries = response.status === 404 && expected.length === 0 ? [] : ((await response.json()) as ({ fn: string } | string)[]);
    const listed = entries.filter((e) => typeof e === 'object').map((e) => e.fn).sort();
    assert.deepEqual(listed, expected);
    // A folder under examples/ becomes a submenu of Import → Examples; one without flows is an empty submenu.
    for (const folder of entries.filter((e) => typeof e === 'string')) {
      const inside = await nodeRed.json<unknown[]>(`/library/examples/flows/${MODULE}/${encodeURIComponent(folder)}`);
      assert.ok(inside.length > 0, `examples/${folder}/ holds no flow, yet shows as an empty folder under Import → Examples`);
    }
    for (const name of expected) {
      const flow = await nodeRed.json<FlowNode[]>(`/library/examples/flows/${MODULE}/${encodeURIComponent(name)}`);
      assert.ok(Array.isArray(flow) && flow.length > 0, `${name} is served as a flow`);
    }
  });

  it("keeps a wallet's seed out of flows.json, encrypts the credentials file, and the wallet uses the seed", async function () {
    const seed = generateSeed();
    await nodeRed.deploy([
      { id: 'c0ffee0000000001', type: 'tab', label: 'seed' },
      { id: 'c0ffee0000000002', type: 'iota-tangle', mode: 'embedded', dataDir: '', mwm: '5', depth: '3', milestoneInterval: '0', dev: true, powWorkers: '1' },
      { id: 'c0ffee0000000003', type: 'iota-wallet', tangle: 'c0ffee0000000002', security: '1', dataDir: '', devFunding: '25', credentials: { seed } },
    ]);
    const flowsFile = fs.readFileSync(path.join(nodeRed.userDir, 'flows.json'), 'utf8');
    assert.ok(flowsFile.includes('c0ffee0000000003'), 'the wallet was saved');
    assert.ok(!flowsFile.includes(seed), 'no seed in flows.json');
    assert.ok(!flowsFile.includes('credentials'), 'no credentials in flows.json');

    const credentials = JSON.parse(fs.readFileSync(path.join(nodeRed.userDir, 'flows_cred.json'), 'utf8'));
    assert.deepEqual(Object.keys(credentials), ['$'], 'flows_cred.json holds only the encrypted blob');
    assert.ok(!JSON.stringify(credentials).includes(seed));

    // The deployed wallet holds the seed: it derived its addresses and got its development funding.
    const balance = await nodeRed.json<{ total: number }>('/m2m-ev/iota-wallet/c0ffee0000000003/balance');
    assert.equal(balance.total, 25);
    assert.ok(!nodeRed.log.includes(seed), 'the seed is not in the log');
  });

  describe('in the editor, in headless Chromium', function () {
    let userDataDir: string;
    let context: BrowserContext;
    let page: Page;

    before(async function () {
      this.timeout(120_000);
      const executablePath = systemTool('/usr/bin/chromium', 'chromium');
      fs.mkdirSync(OUTPUT_DIR, { recursive: true });
      userDataDir = tempDir('m2m-e2e-chromium-');
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath,
        headless: true,
        viewport: { width: 1400, height: 900 },
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      page = context.pages()[0] ?? (await context.newPage());
      await page.goto(nodeRed.url);
      await page.waitForFunction(() => typeof RED !== 'undefined' && RED.nodes?.getType?.('meter-in') !== undefined, undefined, { timeout: 60_000 });
    });
    after(async function () {
      await context?.close();
    });

    it('shows the six flow nodes in the palette', async function () {
      for (const type of PALETTE_TYPES) {
        await page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`).waitFor({ state: 'visible', timeout: 30_000 });
      }
      await page.locator('.red-ui-palette-node[data-palette-type="meter-in"]').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(OUTPUT_DIR, 'editor-palette.png') });
    });

    it("renders each node's help in the help sidebar", async function () {
      for (const type of TYPES) {
        const expected = firstHelpSentence(type);
        const shown = await page.evaluate(
          async ([t, sentence]) => {
            RED.sidebar.help.show(t);
            const text = () => (document.querySelector('.red-ui-sidebar-help-stack .red-ui-help')?.textContent ?? '').replace(/\s+/g, ' ');
            for (let i = 0; i < 100 && !text().includes(sentence); i++) await new Promise((resolve) => setTimeout(resolve, 50));
            return text();
          },
          [type, expected],
        );
        assert.ok(shown.includes(expected), `the help of ${type} shows "${expected}"; the sidebar shows: ${shown.slice(0, 300)}`);
      }
      await page.evaluate(() => RED.sidebar.help.show('meter-in'));
      await page.screenshot({ path: path.join(OUTPUT_DIR, 'editor-help-meter-in.png') });
    });
  });
});

/** What the tests use of the editor's global API, as it runs in the page. */
declare const RED: {
  nodes: { getType(type: string): object | undefined };
  sidebar: { help: { show(type: string): void } };
};
declare const document: { querySelector(selector: string): { textContent: string | null } | null };
