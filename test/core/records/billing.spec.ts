import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { RecordStore } from '../../../nodes/core/records';
import { tempDir } from '../../support/parties';
import { payment, settledRecord } from './fixtures';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-12-05T12:30:00Z');
const station = { role: 'station' as const };

describe('records: billing summary', function () {
  let dir: string;
  let store: RecordStore;
  beforeEach(async () => {
    dir = tempDir();
    store = await RecordStore.open(path.join(dir, 'records', 'records.sqlite'));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sums energy and tokens per hour and day, the price per kWh, early ends with their reasons, and the money in open channels', async () => {
    // S1: three increments two hours ago, then settled because the vehicle reached its target.
    await store.started({ ...station, sessionId: 'S1', vehicleId: 'EV1', deposits: { vehicle: 100, station: 20 }, at: NOW - 2 * HOUR });
    for (let n = 1; n <= 3; n++) await store.paid(payment('S1', n), station, NOW - 2 * HOUR + n * 1000);
    await store.settled(settledRecord('S1', 3, NOW - 2 * HOUR, NOW - 2 * HOUR + 5000), station, NOW - 2 * HOUR + 6000);
    // S2: one increment an hour ago, one in this hour, then the cable was pulled.
    await store.started({ ...station, sessionId: 'S2', vehicleId: 'EV2', deposits: { vehicle: 100, station: 20 }, at: NOW - HOUR });
    await store.paid(payment('S2', 1), station, NOW - HOUR);
    await store.paid(payment('S2', 2), station, NOW - 60_000);
    await store.settled({ ...settledRecord('S2', 2, NOW - HOUR, NOW - 30_000), vehicle_id: 'EV2', remark: 'unplugged' }, station, NOW - 20_000);
    // S3: still charging, four increments paid in this hour.
    await store.started({ ...station, sessionId: 'S3', vehicleId: 'EV3', deposits: { vehicle: 100, station: 20 }, at: NOW - 10 * 60_000 });
    for (let n = 1; n <= 4; n++) await store.paid(payment('S3', n), station, NOW - 10 * 60_000 + n * 1000);

    const billing = store.billing(NOW);
    assert.deepEqual(billing.sessions.map((s) => [s.session_id, s.peer_id, s.status, s.energy_wh, s.cost, s.stop_reason]), [
      ['S3', 'EV3', 'charging', 40, 4, null],
      ['S2', 'EV2', 'ended', 20, 2, 'unplugged'],
      ['S1', 'EV1', 'ended', 30, 3, 'target-reached'],
    ]);
    assert.deepEqual(billing.hours, [
      { start: NOW - 2.5 * HOUR, energy_wh: 30, tokens: 3 },
      { start: NOW - 1.5 * HOUR, energy_wh: 10, tokens: 1 },
      { start: NOW - 0.5 * HOUR, energy_wh: 50, tokens: 5 },
    ]);
    // Days begin at this host's midnight: however the time zone splits them, they hold every payment.
    assert.deepEqual(billing.days.reduce((sum, d) => [sum[0] + d.energy_wh, sum[1] + d.tokens], [0, 0]), [90, 9]);
    assert.deepEqual(billing.totals, { sessions: 3, energy_wh: 90, tokens: 9, price_per_kwh: 100 });
    assert.deepEqual(billing.ended, { sessions: 2, early: 1, early_share: 0.5, reasons: { unplugged: 1 } });
    assert.deepEqual(billing.open, { sessions: 1, deposits: 120, paid: 4 });
  });

  it('gives each open session the totals of its own last payment, and an ended one those of its record', async () => {
    await store.started({ ...station, sessionId: 'S1', vehicleId: 'EV1', deposits: { vehicle: 100, station: 20 }, at: NOW - 3 * 60_000 });
    for (let n = 1; n <= 3; n++) await store.paid(payment('S1', n), station, NOW - 3 * 60_000 + n * 1000);
    await store.settled(settledRecord('S1', 3, NOW - 3 * 60_000, NOW - 60_000), station, NOW - 60_000);
    for (const [id, paid] of [['S2', 2], ['S3', 5]] as const) {
      await store.started({ ...station, sessionId: id, vehicleId: `EV-${id}`, deposits: { vehicle: 100, station: 20 }, at: NOW - paid * 1000 - 10_000 });
      for (let n = 1; n <= paid; n++) await store.paid(payment(id, n), station, NOW - 10_000 + n * 1000);
    }
    const billing = store.billing(NOW);
    assert.deepEqual(billing.sessions.map((s) => [s.session_id, s.status, s.energy_wh, s.cost]), [
      ['S2', 'charging', 20, 2],
      ['S3', 'charging', 50, 5],
      ['S1', 'ended', 30, 3],
    ]);
    assert.deepEqual(billing.totals, { sessions: 3, energy_wh: 100, tokens: 10, price_per_kwh: 100 });
    assert.deepEqual(billing.open, { sessions: 2, deposits: 240, paid: 7 });
  });

  it('leaves out payments older than the windows, and counts a session paid across the window edge by its payments inside it', async () => {
    await store.started({ ...station, sessionId: 'OLD', at: NOW - 30 * HOUR });
    await store.paid(payment('OLD', 1), station, NOW - 30 * HOUR);
    await store.paid(payment('OLD', 2), station, NOW - 20 * HOUR);
    const billing = store.billing(NOW);
    assert.deepEqual(billing.hours.map((h) => [h.energy_wh, h.tokens]), [[10, 1]], 'only the payment inside 24 h, with its own 10 Wh');
    assert.equal(billing.totals.energy_wh, 20);
  });

  it('is empty and has no ratios on a new database', () => {
    const billing = store.billing(NOW);
    assert.deepEqual(billing.sessions, []);
    assert.deepEqual(billing.totals, { sessions: 0, energy_wh: 0, tokens: 0, price_per_kwh: null });
    assert.equal(billing.ended.early_share, null);
  });
});
