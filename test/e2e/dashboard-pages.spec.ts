import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { composeAPI } from '@iota/core';
import type { BrowserContext, Page } from 'playwright-core';
import { ChargeDetailRecord, reconcile } from '../../nodes/core/records';
import { DOC_IMAGES, freePort, installedPackage, launchChromium, Mosquitto, NodeRed, OUTPUT_DIR, tempDir } from '../support/real-nodered';
import { eventually } from '../support/wait';
import { DASHBOARD_EXAMPLE, example, fakeW1Bus, forTestBench, TestBench } from './flows';

const EVSE = 'da5b000000000017';

/**
 * The Dashboard demo's second and third pages in headless Chromium, on a real Node-RED with the packed package and
 * Mosquitto: live billing and the Flash channel for teaching. Then the demo's records against the Tangle: after
 * five sessions, and after Node-RED is killed with SIGKILL mid-session and started again.
 */
describe("e2e: the Dashboard demo's billing and Flash channel pages, and its records through five sessions and a SIGKILL", function () {
  let install: string;
  let broker: Mosquitto;
  let bench: TestBench;
  let nodeRed: NodeRed;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  const records = () => nodeRed.json<ChargeDetailRecord[]>('/m2m-ev/records/sessions.json');
  const settled = async () => (await records()).filter((r) => r.status === 'settled');
  const tangle = () => composeAPI({ provider: `http://127.0.0.1:${bench.tanglePort}` });
  const shoot = async (name: string) => {
    // The navigation drawer opens by itself on a wide screen, over the page: closed, as a reader would close it.
    if ((await page.locator('.v-navigation-drawer--active').count()) > 0) {
      await page.locator('.v-app-bar-nav-icon').click();
      await page.waitForFunction(() => document.querySelector('.v-navigation-drawer--active') === null, undefined, { timeout: 10_000 });
    }
    fs.mkdirSync(DOC_IMAGES, { recursive: true });
    await page.screenshot({ path: path.join(DOC_IMAGES, name), fullPage: true });
  };

  before(async function () {
    this.timeout(300_000);
    install = await installedPackage();
    broker = await Mosquitto.start();
    bench = { brokerPort: broker.port, tanglePort: await freePort(), w1Directory: fakeW1Bus(tempDir('m2m-e2e-w1-'), 30).w1Directory, recordsFile: path.join(tempDir('m2m-e2e-records-'), 'records.jsonl') };
    nodeRed = await NodeRed.start('dashboard-pages', install);
    await nodeRed.deploy(forTestBench(example(DASHBOARD_EXAMPLE), bench));
    context = await launchChromium({ width: 1280, height: 900 });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
  });
  after(async function () {
    await context?.close();
    nodeRed?.saveLog();
    await nodeRed?.stop();
    await broker?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      await page.screenshot({ path: path.join(OUTPUT_DIR, `dashboard-pages-failed.png`), fullPage: true }).catch(() => undefined);
      nodeRed.saveLog();
    }
    assert.deepEqual(pageErrors.splice(0), [], 'no error in the dashboard page');
  });

  it('draws the Flash channel live: deposits, the tree with the current path, each payment as it is co-signed, one sentence per step; classroom speed slows the charger', async function () {
    this.timeout(300_000);
    await page.goto(`${nodeRed.url}/dashboard/flash-channel`);
    // A payment completed on this page: the path is drawn from the root down, and the log has its co-signature.
    await page.waitForFunction(() => document.querySelectorAll('.m2m-tree g.path').length >= 2 && document.querySelectorAll('.m2m-log tbody tr').length >= 2, undefined, { timeout: 180_000, polling: 250 });
    const shown = await page.evaluate(() => ({
      step: document.querySelector('.m2m-step')?.textContent ?? '',
      facts: document.querySelector('.m2m-facts')?.textContent ?? '',
      path: Array.from(document.querySelectorAll('.m2m-tree g.path')).length,
      edges: Array.from(document.querySelectorAll('.m2m-tree line.path')).length,
      row: Array.from(document.querySelectorAll('.m2m-log tbody tr:first-child td')).map((td) => td.textContent?.trim()),
    }));
    assert.match(shown.step, /^\w[\w-]*\. \S.*[.:]/, `one sentence explains the step: ${shown.step}`);
    assert.match(shown.facts, /Deposits, on the Tangle at [9A-Z]{9}….*vehicle \d+ · station \d+ tokens/);
    assert.match(shown.facts, /Off the Tangle/);
    assert.equal(shown.edges, shown.path - 1, 'the highlighted edges join the highlighted path');
    const [, amount, signer, cosigner, took] = shown.row;
    assert.ok(/^\d+$/.test(amount!) || amount === 'close', `tokens of a payment: ${amount}`);
    assert.deepEqual([signer, cosigner], ['vehicle', 'station']);
    assert.match(took!, /^\d+ ms$/);

    // Classroom speed: the charger's status (as the runtime reports it to the editor) drops to 6 A.
    const statuses = await page.evaluate(
      ([url, evse]) => {
        const texts: string[] = ((window as unknown as { m2mStatuses: string[] }).m2mStatuses = []);
        const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/comms`);
        socket.onopen = () => socket.send(JSON.stringify({ subscribe: `status/${evse}` }));
        socket.onmessage = (event) => {
          for (const message of [JSON.parse(String(event.data))].flat() as { topic?: string; data?: { text?: string } }[]) {
            if (message.topic === `status/${evse}` && message.data?.text) texts.push(message.data.text);
          }
        };
        return texts.length;
      },
      [nodeRed.url, EVSE],
    );
    assert.equal(statuses, 0);
    await page.getByText('Classroom speed').click();
    await page
      .waitForFunction(() => (window as unknown as { m2mStatuses: string[] }).m2mStatuses.some((t) => t === 'charging 6 A'), undefined, { timeout: 120_000, polling: 250 })
      .catch(async (err: Error) => {
        throw new Error(`${err.message}; the charger's statuses: ${(await page.evaluate(() => (window as unknown as { m2mStatuses: string[] }).m2mStatuses)).join(' | ')}`);
      });
    await page.waitForFunction(() => document.querySelectorAll('.m2m-tree g.path').length >= 2, undefined, { timeout: 120_000, polling: 250 });
    await shoot('dashboard-flash-channel.png');
    // Back to full speed for the sessions below.
    await page.getByText('Classroom speed').click();
    await page.waitForFunction(() => (window as unknown as { m2mStatuses: string[] }).m2mStatuses.at(-1) === 'charging 32 A', undefined, { timeout: 120_000, polling: 250 });
  });

  it('shows live billing: the sessions, energy and revenue per hour and day, price per kWh, early ends, money in open channels, and each reconciliation', async function () {
    this.timeout(300_000);
    await page.goto(`${nodeRed.url}/dashboard/billing`);
    await page.waitForFunction(
      () => Array.from(document.querySelectorAll('table tbody tr')).some((tr) => tr.textContent?.includes('target-reached')) && /match the Tangle/.test(document.body.textContent ?? ''),
      undefined,
      { timeout: 240_000, polling: 250 },
    );
    const text = await page.evaluate(() => document.body.innerText);
    assert.match(text, /\d+(\.\d+)?\s+tokens per kWh on average/);
    assert.match(text, /\d+ Wh\s+sold in \d+ session\(s\) for \d+ tokens/);
    assert.match(text, /\d+ %\s+of \d+ ended session\(s\) ended early/);
    assert.match(text, /\d+ tokens\s+still off the Tangle: paid in \d+ open channel\(s\)/);
    assert.match(text, /Per hour \(last 24 h\)[\s\S]*\d+ Wh · \d+ tokens[\s\S]*Per day \(last 7 days\)[\s\S]*\d+ Wh · \d+ tokens/);
    assert.match(text, /session \S+: the records match the Tangle, \d+ tokens to the station/);
    // It updates as increments are paid: the energy sold grows without a reload.
    const sold = () => page.evaluate(() => Number(/(\d+) Wh\s+sold in/.exec(document.body.innerText)?.[1] ?? 0));
    const before = await sold();
    await page.waitForFunction((wh) => Number(/(\d+) Wh\s+sold in/.exec(document.body.innerText)?.[1] ?? 0) > wh, before, { timeout: 120_000, polling: 250 });
    await shoot('dashboard-billing.png');
  });

  it('after five sessions, sessions.csv lists five settled sessions whose totals equal the tokens moved on the Tangle; records and billing survive a SIGKILL', async function () {
    this.timeout(600_000);
    await eventually(async () => (await settled()).length >= 5, 'five settled sessions', 480_000);
    const csv = await nodeRed.request('GET', '/m2m-ev/records/sessions.csv');
    const [header, ...lines] = (await csv.text()).trim().split('\r\n');
    const columns = header.split(',');
    const rows = lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [columns[i], cell])));
    const settledRows = rows.filter((r) => r.status === 'settled');
    assert.ok(settledRows.length >= 5, `${settledRows.length} settled sessions in sessions.csv`);
    const five = (await settled()).filter((r) => settledRows.some((row) => row.session_id === r.session_id));
    const report = await reconcile(five, tangle());
    assert.deepEqual(report.differences, []);
    assert.equal(report.checked, five.length);
    assert.equal(report.tokensOnTangle, settledRows.reduce((sum, r) => sum + Number(r.total_cost), 0), 'the totals of sessions.csv are the tokens the Tangle moved to the station');

    // SIGKILL while a session is paying: nothing recorded is lost, and the session settles after the restart.
    await eventually(async () => (await records()).some((r) => r.status === 'charging' && r.increments > 0), 'a session paying', 120_000);
    const beforeKill = await records();
    const interrupted = beforeKill.find((r) => r.status === 'charging')!;
    await nodeRed.kill();
    nodeRed.saveLog();
    nodeRed = await NodeRed.start('dashboard-pages-restarted', install, { userDir: nodeRed.userDir });
    await eventually(async () => (await records()).some((r) => r.session_id === interrupted.session_id && r.status === 'settled'), 'the interrupted session to settle', 240_000);
    const after = await records();
    for (const record of beforeKill.filter((r) => r.status === 'settled')) {
      assert.deepEqual(after.find((r) => r.session_id === record.session_id), record, `session ${record.session_id} as recorded before the kill`);
    }
    const resumed = after.find((r) => r.session_id === interrupted.session_id)!;
    assert.ok(resumed.increments >= interrupted.increments, 'no recorded payment of the interrupted session was lost');
    const all = after.filter((r) => r.status === 'settled');
    const final = await reconcile(all, tangle());
    assert.deepEqual(final.differences, []);
    assert.equal(final.tokensOnTangle, all.reduce((sum, r) => sum + r.total_cost.excl_vat, 0));

    // The billing page, opened afresh, counts every session from before the kill.
    await page.goto(`${nodeRed.url}/dashboard/billing`);
    await page.waitForFunction((n) => Number(/sold in (\d+) session/.exec(document.body.innerText)?.[1] ?? 0) >= n, all.length, { timeout: 120_000, polling: 250 });
  });
});
