import assert from 'node:assert/strict';
import path from 'node:path';
import { BillingSummary, reconcile, Reconciliation } from '../../nodes/core/records';
import type { SessionRecord } from '../../nodes/core/session';
import { generateSeed } from '../../nodes/core/wallet';
import type { IotaWalletNode } from '../../nodes/types';
import { helper, loadFlow } from '../support/nodered';
import { brokerAndRuntime, collect, errorsOf, NODES, sessionFlow } from '../support/session-flow';
import { until } from '../support/wait';
import sessionRecords = require('../../nodes/session-records');
import { tempDir } from '../support/temp';

describe('nodes: session-records keeps a real session and serves it over HTTP', function () {
  const context = brokerAndRuntime();

  it('writes the start, each payment and the settlement; reconciles it and sums it up for billing; the CSV and JSON export list it; the records match the Tangle', async function () {
    const file = path.join(tempDir('m2m-records-'), 'records.sqlite');
    const flow = sessionFlow(context.broker.port, { stationPipeline: true });
    for (const id of ['open-s', 'pay-s', 'settle-s']) flow.find((n) => n.id === id)!.wires = [['out-s'], ['events-s', 'records-s']];
    flow.push(
      { id: 'records-s', z: 'tab', type: 'session-records', role: 'station', file, evseUid: 'ST1-1', connectorId: '2', tangle: 'tangle', wires: [['recorded-s'], ['billing-s']] },
      { id: 'recorded-s', z: 'tab', type: 'helper' },
      { id: 'billing-s', z: 'tab', type: 'helper' },
    );
    await loadFlow([...NODES, sessionRecords], flow, { 'wallet-s': { seed: generateSeed() }, 'wallet-v': { seed: generateSeed() } });
    const events = collect('events-s');
    const recorded = collect('recorded-s') as unknown as { topic: string; record: { status: string; energy_wh: number }; reconciliation?: Reconciliation }[];
    const billing = collect('billing-s') as unknown as { topic: string; payload: BillingSummary }[];
    await until(() => recorded.some((m) => m.topic === 'settled'), 'the settled session to be recorded');

    const settled: SessionRecord = events.find((m) => m.topic === 'settled')!.payload;
    const paid = events.filter((m) => m.topic === 'paid');
    assert.equal(recorded.filter((m) => m.topic === 'paid').length, paid.length, 'every payment was recorded');
    assert.equal(recorded.find((m) => m.topic === 'settled')!.record.status, 'settled');
    // The node reconciled the session with the Tangle as soon as it was recorded.
    const { reconciliation } = recorded.find((m) => m.topic === 'settled')!;
    assert.deepEqual(reconciliation?.differences, []);
    assert.equal(reconciliation?.tokensOnTangle, settled.total_cost.excl_vat);
    // A billing summary after every recorded event: live while charging, then the settled session.
    const charging = billing.find((m) => m.payload.open.sessions === 1 && m.payload.open.paid > 0);
    assert.ok(charging, 'a summary while the channel was open');
    assert.equal(charging.payload.sessions[0].status, 'charging');
    const last = billing.at(-1)!.payload;
    assert.equal(billing.at(-1)!.topic, 'billing');
    assert.deepEqual(last.open, { sessions: 0, deposits: 0, paid: 0 });
    assert.deepEqual(last.totals, { sessions: 1, energy_wh: settled.energy_wh, tokens: settled.total_cost.excl_vat, price_per_kwh: settled.tariff.price_per_kwh });
    assert.equal(last.hours.reduce((sum, h) => sum + h.tokens, 0), settled.total_cost.excl_vat);
    assert.equal(last.sessions[0].stop_reason, settled.remark);

    const csv = await helper.request().get('/m2m-ev/records/sessions.csv').expect(200).expect('Content-Type', /text\/csv/);
    const [header, row, end] = csv.text.split('\r\n');
    assert.equal(end, '');
    const columns = header.split(',');
    const cells = Object.fromEntries(row.split(',').map((cell, i) => [columns[i], cell]));
    assert.equal(cells.session_id, settled.session_id);
    assert.equal(cells.status, 'settled');
    assert.equal(cells.station_id, 'ST1');
    assert.equal(cells.evse_uid, 'ST1-1');
    assert.equal(cells.connector_id, '2');
    assert.equal(cells.vehicle_id, 'EV1');
    assert.equal(Number(cells.energy_wh), settled.energy_wh);
    assert.equal(Number(cells.total_cost), settled.total_cost.excl_vat);
    assert.equal(cells.settlement_confirmed, 'true');

    const json = await helper.request().get('/m2m-ev/records/sessions.json').expect(200);
    assert.equal(json.body.length, 1);
    assert.equal(json.body[0].charging_periods.reduce((wh: number, p: { dimensions: { volume: number }[] }) => wh + p.dimensions[0].volume * 1000, 0), settled.energy_wh);
    await helper.request().get('/m2m-ev/records/sessions.json?from=2000-01-01&to=2000-01-02').expect(200, []);
    await helper.request().get('/m2m-ev/records/sessions.csv?from=yesterday').expect(400);

    const wallet = await (helper.getNode('wallet-s') as IotaWalletNode).wallet;
    const report = await reconcile(json.body, wallet.api);
    assert.deepEqual(report.differences, []);
    assert.equal(report.tokensOnTangle, settled.total_cost.excl_vat);
    assert.deepEqual(errorsOf(['records-s']), []);
  });

  it('refuses a malformed event with a clear error and passes other events by', async function () {
    await helper.unload();
    const file = path.join(tempDir('m2m-records-'), 'records.sqlite');
    await loadFlow([sessionRecords], [{ id: 'records', type: 'session-records', role: 'station', file, wires: [['out'], ['billing']] }, { id: 'out', type: 'helper' }, { id: 'billing', type: 'helper' }]);
    const out = collect('out');
    const billing = collect('billing');
    const node = helper.getNode('records');
    node.receive({ topic: 'paid', payload: { sessionId: 'S1', seq: 'two' } } as never);
    node.receive({ topic: 'energy', payload: { registerWh: 5 } } as never);
    node.receive({ topic: 'paid', payload: { sessionId: 'S1', seq: 2, increments: 1, paidWh: 10, deliveredWh: 10, amount: 1, totalPaid: 1, balances: { vehicle: 9, station: 1 }, remainingPayments: 3 } } as never);
    await until(() => out.length === 1, 'the good payment to be recorded');
    await until(() => errorsOf(['records']).length === 1, 'the error');
    // The helper loads no message catalogue: the error names its catalogue key.
    assert.match(errorsOf(['records'])[0], /session-records\.errors\.bad-event/);
    const json = await helper.request().get('/m2m-ev/records/sessions.json').expect(200);
    assert.equal(json.body.length, 1);
    assert.equal(json.body[0].energy_wh, 10);
    // Asked for it, the node sends the billing summary on its second output.
    node.receive({ topic: 'billing' } as never);
    await until(() => billing.length === 2, 'the summary asked for');
    assert.deepEqual(billing[1].payload.open, { sessions: 1, deposits: 0, paid: 1 });
    assert.equal(out.length, 1, 'a question is not a recorded event');
  });
});
