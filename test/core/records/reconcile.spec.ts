import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { chargeDetailRecords, reconcile, RecordStore } from '../../../nodes/core/records';
import type { PaymentEvent, SessionRecord } from '../../../nodes/core/session';
import type { TangleConnection } from '../../../nodes/core/wallet';
import { charge, devTangle, Pair, tempDir } from '../../support/parties';
import { until } from '../../support/wait';

const CLI = path.join(__dirname, '../../../nodes/core/records/cli.js');

describe('records: reconciliation with the Tangle', function () {
  let tangle: TangleConnection;
  let pair: Pair;
  let store: RecordStore;
  before(async () => {
    tangle = await devTangle();
  });
  after(async () => {
    pair?.close();
    await tangle.close();
  });

  it('finds a real settled session equal to the Tangle token by token, and reports every difference of a tampered one', async function () {
    const file = path.join(tempDir(), 'records.sqlite');
    store = await RecordStore.open(file);
    const clock = { t: Date.now() };
    pair = new Pair(tangle, { common: { now: () => clock.t }, maxOffers: 1, vehicle: { targetWh: 40 } });
    const place = { role: 'station' as const, connectorId: '1' };
    const writes: Promise<void>[] = [];
    const recordStation = () => {
      pair.station.on('opened', (e: { sessionId: string; vehicleId: string }) => writes.push(store.started({ ...place, ...e, at: Date.now() })));
      pair.station.on('paid', (e: PaymentEvent) => writes.push(store.paid(e, place, Date.now())));
      pair.station.on('settled', (r: SessionRecord) => writes.push(store.settled(r, place, Date.now())));
    };
    await pair.wallets.station.topUpFromFaucet(100);
    await pair.wallets.vehicle.topUpFromFaucet(100);
    pair.makeVehicle();
    pair.makeStation();
    recordStation();
    await pair.vehicle.start();
    await pair.station.start();
    await until(() => pair.station.phase === 'charging');
    await charge(pair, clock);
    await until(() => pair.settled.station.length > 0);
    await Promise.all(writes);
    const records = chargeDetailRecords(store);
    assert.equal(records.length, 1);
    const cost = pair.settled.station[0].total_cost.excl_vat;
    assert.ok(cost > 0);

    const clean = await reconcile(records, tangle.api);
    assert.deepEqual(clean.differences, []);
    assert.equal(clean.checked, 1);
    assert.equal(clean.tokensOnTangle, cost, 'the station gained on the Tangle exactly what the records say it earned');

    const [record] = records;
    const tampered = { ...record, increments: record.increments + 1, total_cost: { excl_vat: cost + 1 }, settlement: { ...record.settlement, final_balances: { vehicle: record.settlement.final_balances!.vehicle - 1, station: record.settlement.final_balances!.station + 1 } } };
    const missing = { ...record, session_id: 'ghost', settlement: { ...record.settlement, bundles: [{ hash: '9'.repeat(81), confirmed: true }] } };
    const report = await reconcile([tampered, missing], tangle.api);
    assert.deepEqual(report.differences.map((d) => [d.sessionId, d.what, d.records, d.tangle]), [
      [record.session_id, 'station payout', record.settlement.final_balances!.station + 1, record.settlement.final_balances!.station],
      [record.session_id, 'vehicle payout', record.settlement.final_balances!.vehicle - 1, record.settlement.final_balances!.vehicle],
      ['ghost', `bundle ${'9'.repeat(81)}`, 'settled', 'absent'],
    ]);

    // The command line, as an operator runs it: from the database, then from a JSON export with a tampered record.
    await store.close();
    const cli = (args: string[]) => promisify(execFile)(process.execPath, [CLI, ...args]).then((r) => ({ code: 0, out: r.stdout }), (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }));
    const fromDb = await cli(['reconcile', '--db', file, '--provider', tangle.url]);
    assert.equal(fromDb.code, 0, fromDb.out);
    assert.match(fromDb.out, new RegExp(`1 settled sessions checked, 0 still open; the stations gained ${cost} tokens on the Tangle\\nrecords and Tangle agree`));
    const exported = path.join(tempDir(), 'sessions.json');
    fs.writeFileSync(exported, JSON.stringify([tampered]));
    const fromExport = await cli(['reconcile', '--records', exported, '--provider', tangle.url, '--json']);
    assert.equal(fromExport.code, 1);
    assert.deepEqual(JSON.parse(fromExport.out).differences.map((d: { what: string }) => d.what), ['station payout', 'vehicle payout']);
  });
});
