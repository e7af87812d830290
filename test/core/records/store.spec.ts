import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chargeDetailRecords, RecordError, RecordStore, toCsv } from '../../../nodes/core/records';
import { tempDir } from '../../support/parties';
import { writeUntilKilled } from '../store/crash';
import { payment, settledRecord } from './fixtures';

const T0 = Date.parse('2026-12-01T08:00:00Z');
const station = { role: 'station' as const, evseUid: 'ST1-1', connectorId: '1' };

describe('records: store', function () {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir();
    file = path.join(dir, 'records', 'records.sqlite');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps a session start, every increment and the settlement, and reads them back as a CDR after reopening', async () => {
    const store = await RecordStore.open(file);
    await store.started({ ...station, sessionId: 'S1', vehicleId: 'EV1', depositAddress: 'D'.repeat(81), deposits: { vehicle: 100, station: 20 }, at: T0 });
    for (let n = 1; n <= 3; n++) await store.paid(payment('S1', n), station, T0 + n * 1000);
    // A pause of two minutes: the fourth increment opens a second charging period.
    await store.paid(payment('S1', 4), station, T0 + 123_000);
    await store.paid(payment('S1', 4), station, T0 + 200_000); // replayed: the first record of it stays
    await store.settled(settledRecord('S1', 4, T0, T0 + 130_000), station, T0 + 140_000);
    await store.close();

    const reopened = await RecordStore.open(file);
    try {
      assert.equal(reopened.increments('S1').length, 4);
      assert.equal(reopened.increments('S1')[3].at, T0 + 123_000);
      const [cdr] = chargeDetailRecords(reopened);
      assert.equal(cdr.status, 'settled');
      assert.equal(cdr.start_date_time, '2026-12-01T08:00:00.000Z');
      assert.equal(cdr.end_date_time, '2026-12-01T08:02:10.000Z');
      assert.deepEqual(cdr.cdr_location, { id: 'ST1', evse_uid: 'ST1-1', connector_id: '1' });
      assert.deepEqual(cdr.cdr_token, { uid: 'EV1', type: 'OTHER' });
      assert.equal(cdr.energy_wh, 40);
      assert.equal(cdr.total_energy, 0.04);
      assert.deepEqual(cdr.total_cost, { excl_vat: 4 });
      assert.deepEqual(cdr.charging_periods.map((p) => [p.start_date_time, p.dimensions[0].volume]), [
        ['2026-12-01T08:00:00.000Z', 0.03],
        ['2026-12-01T08:02:03.000Z', 0.01],
      ]);
      assert.deepEqual(cdr.settlement.bundles, [{ hash: 'A'.repeat(81), confirmed: true }, { hash: 'B'.repeat(81), confirmed: true }]);
      assert.deepEqual(cdr.settlement.final_balances, { vehicle: 96, station: 24 });
      assert.deepEqual(cdr.settlement.addresses, { vehicle: 'V'.repeat(81), station: 'S'.repeat(81) });
    } finally {
      await reopened.close();
    }
  });

  it('reports a session still charging with the totals of its last payment, and exports CSV safe for spreadsheets', async () => {
    const store = await RecordStore.open(file);
    try {
      await store.started({ ...station, sessionId: 'S2', vehicleId: '=HYPERLINK("x"),EV', at: T0 });
      await store.paid(payment('S2', 7), station, T0 + 7000);
      const records = chargeDetailRecords(store);
      assert.equal(records[0].status, 'charging');
      assert.equal(records[0].end_date_time, null);
      assert.equal(records[0].energy_wh, 70);
      assert.deepEqual(records[0].total_cost, { excl_vat: 7 });
      const [header, row] = toCsv(records).split('\r\n');
      assert.match(header, /^session_id,status,start_date_time,end_date_time,station_id,/);
      assert.ok(row.includes(`"'=HYPERLINK(""x""),EV"`), row);
      assert.ok(row.startsWith('S2,charging,2026-12-01T08:00:00.000Z,,,ST1-1,1,'), row);
    } finally {
      await store.close();
    }
  });

  it('refuses bad input with a clear error and writes nothing of it', async () => {
    const store = await RecordStore.open(file);
    try {
      await assert.rejects(store.paid({ ...payment('S3', 1), amount: 1.5 }, station, T0), (err: Error) => err instanceof RecordError && /amount must be a whole number/.test(err.message));
      await assert.rejects(store.paid({ sessionId: 'S3' } as never, station, T0), RecordError);
      const bad = settledRecord('S3', 1, T0, T0 + 1000);
      await assert.rejects(store.settled({ ...bad, end_date_time: 'yesterday' }, station, T0), /end_date_time is no date/);
      assert.deepEqual(store.sessions(), []);
    } finally {
      await store.close();
    }
  });

  it('is held by one process: a second open of the same folder fails while the first is open', async () => {
    const store = await RecordStore.open(file);
    try {
      await assert.rejects(RecordStore.open(file), /already in use/);
    } finally {
      await store.close();
    }
  });

  it('loses no acknowledged increment when the writer is killed with SIGKILL, three times on the same file', async () => {
    const acknowledged: string[] = [];
    for (let round = 0; round < 3; round++) acknowledged.push(...(await writeUntilKilled<string>('records', file, 200 + round * 50)));
    const store = await RecordStore.open(file);
    try {
      const stored = new Set(store.sessions().flatMap((s) => store.increments(s.session_id).map((i) => `${s.session_id}/${i.seq}`)));
      const lost = acknowledged.filter((key) => !stored.has(key));
      assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged increments lost`);
      assert.ok(stored.size >= acknowledged.length);
    } finally {
      await store.close();
    }
  });

  it('keeps up with 100 concurrent sessions paying at once (figures printed, no timing asserted)', async () => {
    const sessions = 100;
    const rounds = 30;
    const store = await RecordStore.open(file);
    const latencies: number[] = [];
    try {
      // One session alone: every increment is its own transaction and fsync.
      const alone: number[] = [];
      for (let n = 1; n <= 200; n++) {
        const t = process.hrtime.bigint();
        await store.paid(payment('alone', n), station, T0 + n * 1000);
        alone.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      alone.sort((a, b) => a - b);
      console.log(`      one session alone: latency per increment median ${alone[100].toFixed(2)} ms, p95 ${alone[190].toFixed(2)} ms`);
      const started = process.hrtime.bigint();
      for (let s = 0; s < sessions; s++) await store.started({ ...station, sessionId: `L${s}`, vehicleId: `EV${s}`, at: T0 });
      const sizeBefore = store.sizeBytes();
      for (let n = 1; n <= rounds; n++) {
        await Promise.all(
          Array.from({ length: sessions }, async (_, s) => {
            const t = process.hrtime.bigint();
            await store.paid(payment(`L${s}`, n), station, T0 + n * 1000);
            latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
          }),
        );
      }
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      const increments = sessions * rounds;
      assert.equal(store.sessions().reduce((sum, s) => sum + store.increments(s.session_id).length, 0), increments + 200);
      assert.equal(store.sessionCount(), store.sessions().length);
      latencies.sort((a, b) => a - b);
      const perThousand = ((store.sizeBytes() - sizeBefore) / increments) * 1000;
      console.log(
        `      ${increments} increments of ${sessions} concurrent sessions in ${elapsedMs.toFixed(0)} ms ` +
          `(${((increments / elapsedMs) * 1000).toFixed(0)}/s); latency per increment median ${latencies[increments >> 1].toFixed(2)} ms, ` +
          `p95 ${latencies[Math.floor(increments * 0.95)].toFixed(2)} ms; ${(perThousand / 1024).toFixed(0)} KiB per 1,000 increments`,
      );
    } finally {
      await store.close();
    }
  });
});
