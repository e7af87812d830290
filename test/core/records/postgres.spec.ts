import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { chargeDetailRecords, RecordStore } from '../../../nodes/core/records';
import { tempDir } from '../../support/parties';
import { startPostgres, TestPostgres } from '../../support/postgres';
import { payment, settledRecord } from './fixtures';

/** The SQL of docs/RECORDS.md, block by block, so that the documented statements are the tested ones. */
function documentedSql(): string[] {
  const doc = fs.readFileSync(path.join(__dirname, '../../../../docs/RECORDS.md'), 'utf8');
  return [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1].replace(/^ {2}/gm, ''));
}

describe('records: PostgreSQL, the documented path to a server database', function () {
  let postgres: TestPostgres;
  let client: Client;
  before(async () => {
    postgres = await startPostgres();
    client = new Client(postgres.config);
    await client.connect();
  });
  after(async () => {
    await client?.end();
    await postgres?.stop();
  });

  it('takes every recorded event with the documented upsert, one row per session holding its latest record', async () => {
    const [createTable, upsert] = documentedSql();
    assert.ok(createTable.includes('CREATE TABLE') && upsert.includes('ON CONFLICT'), 'docs/RECORDS.md holds the two statements');
    await client.query(createTable);

    const store = await RecordStore.open(path.join(tempDir(), 'records.sqlite'));
    const place = { role: 'station' as const, evseUid: 'ST1-1', connectorId: '1' };
    const t0 = Date.parse('2026-12-01T08:00:00Z');
    try {
      // As a flow would send them: after each event, session-records emits the session's record.
      const send = async () => {
        for (const record of chargeDetailRecords(store)) await client.query(upsert, [JSON.stringify(record)]);
      };
      for (const [id, n] of [['P1', 5], ['P2', 3]] as const) {
        await store.started({ ...place, sessionId: id, vehicleId: 'EV1', at: t0 });
        for (let i = 1; i <= n; i++) {
          await store.paid(payment(id, i), place, t0 + i * 1000);
          await send();
        }
      }
      await store.settled(settledRecord('P1', 5, t0, t0 + 6000), place, t0 + 7000);
      await send();

      const rows = (await client.query('SELECT session_id, status, energy_wh, total_cost, end_date_time, record FROM cdrs ORDER BY session_id')).rows;
      assert.deepEqual(rows.map((r) => [r.session_id, r.status, Number(r.energy_wh), Number(r.total_cost)]), [
        ['P1', 'settled', 50, 5],
        ['P2', 'charging', 30, 3],
      ]);
      assert.equal(rows[0].end_date_time.toISOString(), '2026-12-01T08:00:06.000Z');
      assert.equal(rows[1].end_date_time, null);
      assert.deepEqual(rows[0].record.settlement.bundles.map((b: { hash: string }) => b.hash), ['A'.repeat(81), 'B'.repeat(81)]);
      const revenue = await client.query("SELECT sum(total_cost)::int AS tokens FROM cdrs WHERE status = 'settled'");
      assert.equal(revenue.rows[0].tokens, 5);
    } finally {
      await store.close();
    }
  });
});
