import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { chromiumOptions, DOC_IMAGES, freePort, installedPackage, Mosquitto, MODULE, NodeRed, OUTPUT_DIR, tempDir } from '../support/real-nodered';
import { DASHBOARD_EXAMPLE, example, forTestBench } from './flows';

/**
 * The Dashboard demo as the paper's Fig. 4 shows its prototype: the meter readings plotted live at their time
 * stamps, and under them both parties' balances and the amount still transactable, all in view without scrolling
 * on a laptop and on a phone. The demo runs on a real Node-RED with mosquitto; the screenshots that the README
 * shows go to docs/images/ with UPDATE_DOC_IMAGES=1 (DOC_IMAGES).
 */

const SCREENS = [
  { name: 'laptop', viewport: { width: 1366, height: 768 }, mobile: false },
  { name: 'phone', viewport: { width: 390, height: 844 }, mobile: true },
];

/**
 * What a newcomer must see at a glance: each widget's class in the demo, and what it shows in a channel in which the
 * vehicle has paid (the station holds tokens) and can pay more (tokens still transactable).
 */
const AT_A_GLANCE = [
  { what: 'the meter readings', selector: '.m2m-readings' },
  { what: "the vehicle's balance", selector: '.m2m-vehicle-balance', shows: /\d+ tokens?/ },
  { what: "the station's balance", selector: '.m2m-station-balance', shows: /[1-9]\d* tokens?/ },
  { what: 'the amount still transactable', selector: '.m2m-transactable', shows: /[1-9]\d* tokens?/ },
];

describe('e2e: the Dashboard demo, as the paper\'s Fig. 4, in headless Chromium', function () {
  let broker: Mosquitto;
  let nodeRed: NodeRed;
  let browser: Browser;

  before(async function () {
    this.timeout(300_000);
    broker = await Mosquitto.start();
    nodeRed = await NodeRed.start('dashboard', await installedPackage());
    const sets = await nodeRed.json<{ module: string; enabled: boolean }[]>('/nodes');
    assert.ok(sets.some((s) => s.module === '@flowfuse/node-red-dashboard' && s.enabled), 'Dashboard 2.0 is available to Node-RED');
    assert.ok(sets.some((s) => s.module === MODULE && s.enabled), 'the package is installed');
    const bench = { brokerPort: broker.port, tanglePort: await freePort(), w1Directory: tempDir('m2m-e2e-w1-'), recordsFile: path.join(tempDir('m2m-e2e-records-'), 'records.jsonl') };
    // The bench's short sessions, but at the demo's own target: the screenshots show a session under way.
    const demo = example(DASHBOARD_EXAMPLE);
    const vehicleTarget = demo.find((n) => n.type === 'charging-party' && n.role === 'vehicle')?.targetWh;
    await nodeRed.deploy(forTestBench(demo, bench).map((n) => (n.type === 'charging-party' && n.role === 'vehicle' ? { ...n, targetWh: vehicleTarget } : n)));
    // Contexts of its own, one per screen: a phone's touch and mobile layout are set per context.
    browser = await chromium.launch(chromiumOptions());
  });
  after(async function () {
    await browser?.close();
    nodeRed?.saveLog();
    await nodeRed?.stop();
    await broker?.stop();
  });

  for (const screen of SCREENS) {
    it(`shows the readings with time stamps, both balances and the amount still transactable on a ${screen.name} (${screen.viewport.width}x${screen.viewport.height}) without scrolling`, async function () {
      this.timeout(300_000);
      const context = await browser.newContext({ viewport: screen.viewport, isMobile: screen.mobile, hasTouch: screen.mobile });
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
      const screenshot = path.join(DOC_IMAGES, `dashboard-${screen.name}.png`);
      try {
        await page.goto(`${nodeRed.url}/dashboard`);
        // The readings come in live: wait for two, then for one more. Then until the vehicle has paid in this channel.
        await page.waitForFunction(atLeastReadings(2), undefined, { timeout: 240_000, polling: 250 });
        const { points } = await page.evaluate(readingsChart);
        await page.waitForFunction(atLeastReadings(points + 1), undefined, { timeout: 60_000, polling: 250 });
        const expected = AT_A_GLANCE.filter((w) => w.shows).map((w) => [w.selector, w.shows!.source]);
        await page.waitForFunction(allShown, expected, { timeout: 240_000, polling: 100 });

        fs.mkdirSync(DOC_IMAGES, { recursive: true });
        await page.screenshot({ path: screenshot });
        assert.equal(await page.evaluate(() => window.scrollY), 0, 'the page is not scrolled');
        for (const { what, selector } of AT_A_GLANCE) {
          const box = await page.locator(selector).boundingBox();
          assert.ok(box, `${what} is drawn`);
          const inView = box.x >= 0 && box.y >= 0 && box.x + box.width <= screen.viewport.width && box.y + box.height <= screen.viewport.height;
          assert.ok(inView, `${what} is in the ${screen.viewport.width}x${screen.viewport.height} viewport: it is at ${JSON.stringify(box)}`);
        }
        assert.equal((await page.evaluate(readingsChart)).axis, 'time', 'the readings are plotted at their time stamps');
        assert.deepEqual(pageErrors, [], 'no error in the dashboard page');
      } catch (err) {
        // Never over the docs' image: the page as the test failed, next to the logs.
        await page.screenshot({ path: path.join(OUTPUT_DIR, `dashboard-${screen.name}-failed.png`) }).catch(() => undefined);
        throw err;
      } finally {
        await context.close();
      }
    });
  }
});

/**
 * In the page: the readings chart's points and the type of its x axis. Dashboard 2.0's ui-chart keeps its ECharts
 * instance as `chart` on its Vue component; Vue keeps the root virtual node on the app's container even in a
 * production build.
 */
function readingsChart(): { points: number; axis?: string } {
  interface EChart {
    getOption(): { series?: { data?: unknown[] }[]; xAxis?: { type?: string }[] };
    getDom(): { closest(selector: string): unknown };
  }
  interface VNode {
    component?: { proxy?: { chart?: EChart }; subTree?: VNode };
    children?: unknown;
    suspense?: { activeBranch?: VNode };
  }
  const charts: EChart[] = [];
  const visit = (vnode: VNode | undefined) => {
    if (!vnode || typeof vnode !== 'object') return;
    const chart = vnode.component?.proxy?.chart;
    if (chart && typeof chart.getOption === 'function') charts.push(chart);
    visit(vnode.component?.subTree);
    visit(vnode.suspense?.activeBranch);
    if (Array.isArray(vnode.children)) for (const child of vnode.children) visit(child as VNode);
  };
  visit((document.querySelector('#app') as unknown as { _vnode?: VNode } | null)?._vnode);
  const option = charts.find((c) => c.getDom().closest('.m2m-readings'))?.getOption();
  return { points: (option?.series ?? []).reduce((n, s) => n + (s.data?.length ?? 0), 0), axis: option?.xAxis?.[0]?.type };
}

/** In the page: whether every [selector, pattern] pair's element shows text that matches the pattern, at once. */
function allShown(expected: string[][]): boolean {
  return expected.every(([selector, pattern]) => new RegExp(pattern).test((document.querySelector(selector) as { textContent?: string } | null)?.textContent ?? ''));
}

/** For waitForFunction: holds once the readings chart shows at least `least` points. */
const atLeastReadings = (least: number) => `(${readingsChart.toString()})().points >= ${least}`;

declare const document: { querySelector(selector: string): unknown };
declare const window: { scrollY: number };
