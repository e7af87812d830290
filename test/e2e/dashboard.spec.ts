import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import type { SessionRecord } from '../../nodes/core/session';
import { chromiumOptions, DOC_IMAGES, freePort, installedPackage, Mosquitto, MODULE, NodeRed, OUTPUT_DIR, tempDir } from '../support/real-nodered';
import { eventually } from '../support/wait';
import type { FlowNode } from '../support/nodered';
import { CHARGING_SITE_EXAMPLE, DASHBOARD_EXAMPLE, example, forTestBench, recordsIn, TestBench } from './flows';

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

interface DashboardBench {
  nodeRed: NodeRed;
  browser: Browser;
  bench: TestBench;
}

/**
 * For the tests of a describe: mosquitto, a Node-RED (named `name`) with the packed package and Dashboard 2.0 that
 * runs `flowFor(bench)`, and headless Chromium; all started before the tests and stopped after them.
 */
function dashboardBench(name: string, flowFor: (bench: TestBench) => FlowNode[]): DashboardBench {
  const running = {} as DashboardBench;
  let broker: Mosquitto | undefined;
  before(async function () {
    this.timeout(300_000);
    broker = await Mosquitto.start();
    running.nodeRed = await NodeRed.start(name, await installedPackage());
    const sets = await running.nodeRed.json<{ module: string; enabled: boolean }[]>('/nodes');
    assert.ok(sets.some((s) => s.module === '@flowfuse/node-red-dashboard' && s.enabled), 'Dashboard 2.0 is available to Node-RED');
    assert.ok(sets.some((s) => s.module === MODULE && s.enabled), 'the package is installed');
    running.bench = { brokerPort: broker.port, tanglePort: await freePort(), w1Directory: tempDir('m2m-e2e-w1-'), recordsFile: path.join(tempDir('m2m-e2e-records-'), 'records.jsonl') };
    await running.nodeRed.deploy(flowFor(running.bench));
    // Contexts of its own, one per test or screen: a phone's touch and mobile layout are set per context.
    running.browser = await chromium.launch(chromiumOptions());
  });
  after(async function () {
    await running.browser?.close();
    running.nodeRed?.saveLog();
    await running.nodeRed?.stop();
    await broker?.stop();
  });
  return running;
}

describe('e2e: the Dashboard demo, as the paper\'s Fig. 4, in headless Chromium', function () {
  // The bench's short sessions, but at the demo's own target: the screenshots show a session under way.
  const running = dashboardBench('dashboard', (bench) => {
    const demo = example(DASHBOARD_EXAMPLE);
    const vehicleTarget = demo.find((n) => n.type === 'charging-party' && n.role === 'vehicle')?.targetWh;
    return forTestBench(demo, bench).map((n) => (n.type === 'charging-party' && n.role === 'vehicle' ? { ...n, targetWh: vehicleTarget } : n));
  });

  for (const screen of SCREENS) {
    it(`shows the readings with time stamps, both balances and the amount still transactable on a ${screen.name} (${screen.viewport.width}x${screen.viewport.height}) without scrolling`, async function () {
      this.timeout(300_000);
      const context = await running.browser.newContext({ viewport: screen.viewport, isMobile: screen.mobile, hasTouch: screen.mobile });
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
      const screenshot = path.join(DOC_IMAGES, `dashboard-${screen.name}.png`);
      try {
        await page.goto(`${running.nodeRed.url}/dashboard`);
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
 * What each vehicle of the Charging site chooses by, as its card says it, and the station its policy leads it to
 * there (the example's comment gives the reasons): the cheapest is station-c (100 per kWh, any of its three
 * connectors), the most powerful station-a (22 kW), the nearest to vehicle-3 station-b, and vehicle-4's weighted mix
 * (cost 3, power 1, distance 1) station-c.
 */
const SITE_VEHICLES = [
  { vehicle: 'vehicle-1', policy: 'lowest cost', station: /^station-c-[123]$/ },
  { vehicle: 'vehicle-2', policy: 'highest power', station: /^station-a$/ },
  { vehicle: 'vehicle-3', policy: 'nearest', station: /^station-b-[12]$/ },
  { vehicle: 'vehicle-4', policy: 'weighted mix', station: /^station-c-[123]$/ },
  { vehicle: 'vehicle-5', policy: 'lowest cost', station: /^station-c-[123]$/ },
];

describe("e2e: the Charging site example's dashboard page: each vehicle's choice and the shared site power, in headless Chromium", function () {
  const running = dashboardBench('charging-site', (bench) => forTestBench(example(CHARGING_SITE_EXAMPLE), bench));

  it('shows what each vehicle chose by its policy and why, and each station\'s site power; every first session settles there on both sides', async function () {
    this.timeout(600_000);
    const context = await running.browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
    const screenshot = path.join(DOC_IMAGES, 'dashboard-charging-site.png');
    try {
      await page.goto(`${running.nodeRed.url}/dashboard/charging-site`);
      const chosen = SITE_VEHICLES.map(({ vehicle }) => [`[data-vehicle="${vehicle}"] .m2m-choice`, '^chose ']);
      // Station C's 16 A shared by its connectors, in amps and in kW (three phases at 230 V).
      const sitePower = ['[data-station="station-c"] .m2m-site-summary', '^\\d+ of 16 A \\(\\d+\\.\\d kW of 11\\.0 kW\\)$'];
      await page.waitForFunction(allShown, [...chosen, sitePower], { timeout: 240_000, polling: 250 });
      for (const { vehicle, policy, station } of SITE_VEHICLES) {
        const card = page.locator(`[data-vehicle="${vehicle}"]`);
        assert.match(await card.textContent() ?? '', new RegExp(`chooses by ${policy}`), vehicle);
        const choice = (await card.locator('.m2m-choice').textContent()) ?? '';
        const [, stationId] = /^chose ([\w-]+): \d+ i\/kWh, [\d.]+ kW, [\d.]+ k?m(; skipped .+)?$/.exec(choice) ?? [];
        assert.match(stationId ?? '', station, `${vehicle} (${policy}) chose by its policy: "${choice}"`);
      }

      // Every vehicle's first session settles at the station its policy chose, with both sides' records equal.
      const firstSessions = () => {
        const bySession = new Map<string, SessionRecord[]>();
        for (const record of recordsIn(running.bench.recordsFile) as unknown as SessionRecord[]) bySession.set(record.session_id, [...(bySession.get(record.session_id) ?? []), record]);
        const settled = [...bySession.values()].filter((sides) => sides.length === 2).sort((a, b) => a[0].start_date_time.localeCompare(b[0].start_date_time));
        return SITE_VEHICLES.map(({ vehicle }) => settled.find(([record]) => record.vehicle_id === vehicle));
      };
      await eventually(async () => firstSessions().every((sides) => sides !== undefined), "every vehicle's first session to settle on both sides", 480_000);
      firstSessions().forEach((sides, i) => {
        const { vehicle, station } = SITE_VEHICLES[i];
        const [a, b] = sides!;
        assert.match(a.station_id, station, `${vehicle} charged where its policy chose`);
        assert.deepEqual([a.station_id, a.energy_wh, a.total_cost, a.channel.final_balances], [b.station_id, b.energy_wh, b.total_cost, b.channel.final_balances], `${vehicle}: both sides agree`);
        assert.equal(a.total_cost.excl_vat, (a.energy_wh * a.tariff.price_per_kwh) / 1000, `${vehicle} paid the station's price for its energy`);
      });
      const settledShown = SITE_VEHICLES.map(({ vehicle }) => [`[data-vehicle="${vehicle}"] .m2m-settled`, '^[1-9]\\d* sessions? settled, the last \\d+ Wh for \\d+ tokens at station-']);
      await page.waitForFunction(allShown, settledShown, { timeout: 60_000, polling: 250 });
      fs.mkdirSync(DOC_IMAGES, { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true });
      assert.deepEqual(pageErrors, [], 'no error in the dashboard page');
    } catch (err) {
      await page.screenshot({ path: path.join(OUTPUT_DIR, 'dashboard-charging-site-failed.png'), fullPage: true }).catch(() => undefined);
      throw err;
    } finally {
      await context.close();
    }
  });
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
